// What the host's apt configuration says about Debian mirrors, read at run time so that
// no mirror host name is written into the project.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

export interface AptSource {
  uris: string[];
  suites: string[];
  components: string[];
}

export const DEBIAN_SUITE = 'bookworm';
const DEBIAN_COMPONENTS = ['main', 'contrib', 'non-free', 'non-free-firmware'];

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function listDir(dir: string, suffix: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(suffix))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** Parse deb822 `.sources` text: binary (`Types: deb`), enabled stanzas only. */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  const stanzas = text.replace(/\r/g, '').split(/\n\s*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let last: string | null = null;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) {
        last = m[1]!.toLowerCase();
        fields.set(last, m[2]!.trim());
      }
    }
    const words = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const uris = words('uris');
    if (uris.length === 0) continue;
    out.push({ uris, suites: words('suites'), components: words('components') });
  }
  return out;
}

/** Parse one-line `sources.list` text: `deb [options] URI suite component...`. */
export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.replace(/\r/g, '').split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ uris: [m[1]!], suites: [m[2]!], components: m[3]!.split(/\s+/).filter(Boolean) });
  }
  return out;
}

/** Every binary source the host's apt knows, deb822 files first. */
export function readHostAptSources(aptDir = '/etc/apt'): AptSource[] {
  const out: AptSource[] = [];
  for (const f of listDir(path.join(aptDir, 'sources.list.d'), '.sources')) {
    out.push(...parseDeb822Sources(readText(f) ?? ''));
  }
  out.push(...parseOneLineSources(readText(path.join(aptDir, 'sources.list')) ?? ''));
  for (const f of listDir(path.join(aptDir, 'sources.list.d'), '.list')) {
    out.push(...parseOneLineSources(readText(f) ?? ''));
  }
  return out;
}

const isHttp = (u: string) => /^https?:\/\//.test(u);
const trimSlash = (u: string) => u.replace(/\/+$/, '');

/**
 * The Debian mirror to bootstrap from: the explicit choice, else OPSLAB_DEBIAN_MIRROR, else the
 * URI of the host's apt entry for `bookworm`, else one whose path ends in /debian.
 */
export function resolveDebianMirror(explicit?: string, sources = readHostAptSources()): string {
  const chosen = explicit?.trim() || process.env.OPSLAB_DEBIAN_MIRROR?.trim();
  if (chosen) return trimSlash(chosen);
  const bySuite = sources.find((s) => s.suites.includes(DEBIAN_SUITE) && s.uris.some(isHttp));
  if (bySuite) return trimSlash(bySuite.uris.find(isHttp)!);
  for (const s of sources) {
    const u = s.uris.find((x) => isHttp(x) && /\/debian\/?$/.test(x));
    if (u) return trimSlash(u);
  }
  throw new Error(
    `no Debian mirror found in the host's apt configuration for ${DEBIAN_SUITE}: ` +
      'set OPSLAB_DEBIAN_MIRROR to a Debian mirror URL (the directory that holds dists/ and pool/)',
  );
}

/**
 * The apt sources for the image: the host's entries for the bookworm family of suites
 * (bookworm, bookworm-updates, bookworm-security) that are served over http(s), when the
 * mirror is one of them; otherwise just `bookworm main` from the mirror.
 */
export function imageAptSources(mirror: string, sources = readHostAptSources()): AptSource[] {
  const family = (s: string) => s === DEBIAN_SUITE || s.startsWith(`${DEBIAN_SUITE}-`);
  const hostFamily = sources
    .map((s) => ({
      uris: s.uris.filter(isHttp).map(trimSlash),
      suites: s.suites.filter((x) => family(x) && !x.endsWith('-backports')),
      components: s.components.filter((c) => DEBIAN_COMPONENTS.includes(c)),
    }))
    .filter((s) => s.uris.length > 0 && s.suites.length > 0 && s.components.includes('main'));
  if (hostFamily.some((s) => s.uris.includes(mirror) && s.suites.includes(DEBIAN_SUITE))) return hostFamily;
  return [{ uris: [mirror], suites: [DEBIAN_SUITE], components: ['main'] }];
}

export function renderDeb822(sources: AptSource[], signedBy: string | null): string {
  return sources
    .map((s) =>
      [
        'Types: deb',
        `URIs: ${s.uris.join(' ')}`,
        `Suites: ${s.suites.join(' ')}`,
        `Components: ${s.components.join(' ')}`,
        ...(signedBy ? [`Signed-By: ${signedBy}`] : []),
      ].join('\n'),
    )
    .join('\n\n')
    .concat('\n');
}

/**
 * The host's apt settings that relax the Release file date checks (needed when the mirror serves
 * an archived snapshot): every line of apt.conf / apt.conf.d that sets Check-Valid-Until or Check-Date.
 */
export function hostAptDateSettings(aptDir = '/etc/apt'): string[] {
  const files = [path.join(aptDir, 'apt.conf'), ...listDir(path.join(aptDir, 'apt.conf.d'), '')];
  const lines: string[] = [];
  for (const f of files) {
    for (const line of (readText(f) ?? '').split('\n')) {
      const t = line.trim();
      if (/^(Acquire::)?[A-Za-z:]*Check-(Valid-Until|Date)\s+"?[A-Za-z0-9]+"?\s*;/.test(t) && !lines.includes(t)) {
        lines.push(t);
      }
    }
  }
  return lines;
}
