// The images opslab runs: sandbox images from sandboxes/<name>/Dockerfile, the grader image from
// graders/Dockerfile, and the base images they start FROM. Base images are kept when present,
// pulled when a registry answers, and otherwise built on this machine (debootstrap for Debian,
// the host's own Node binary for Node). Builds are skipped when nothing in their context changed.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { ImageEngine } from '../sandbox/image-engine.js';
import { buildDebianBase } from './debian.js';
import { buildImageFromDir, removeIfUntagged, type Log } from './engine.js';
import { withImageLock } from './lock.js';
import { buildNodeBase } from './node.js';

export interface ImageResult {
  name: string;
  tag: string;
  built: boolean;
  ms: number;
}

export interface EnsureImagesOptions {
  /** The engine the images are made in (DockerImageEngine in server/src/sandbox/drivers/docker/image-engine.ts). */
  engine: ImageEngine;
  repoRoot: string;
  log: (line: string) => void;
  /** Debian mirror for building debian:bookworm-slim offline (default: OPSLAB_DEBIAN_MIRROR, then the host's apt sources). */
  debianMirror?: string;
  /** Images besides the repository's own, built the same way after them (the tests' PostgreSQL). */
  extra?: ImageTarget[];
}

export const DEBIAN_BASE_TAG = 'debian:bookworm-slim';
export const NODE_BASE_TAG = 'node:20-bookworm-slim';
export const GRADER_IMAGE_TAG = 'opslab/grader:latest';
export const CONTENT_HASH_LABEL = 'opslab.content-hash';
const PULL_TIMEOUT_MS = 20_000;

const NAME_RE = /^[a-z0-9][a-z0-9_.-]*$/;

/** The tag of the sandbox image built from sandboxes/<name>/Dockerfile. */
export function sandboxImageTag(name: string): string {
  if (!NAME_RE.test(name)) throw new Error(`invalid sandbox image name ${JSON.stringify(name)}`);
  return `opslab/sandbox-${name}:latest`;
}

/** An image built from a directory holding its Dockerfile. */
export interface ImageTarget {
  name: string;
  tag: string;
  contextDir: string;
}
type Target = ImageTarget;

/** The images the repository defines (ensureImages builds them in buildOrder). */
export function listTargets(repoRoot: string): Target[] {
  const targets: Target[] = [];
  const sandboxesDir = path.join(repoRoot, 'sandboxes');
  const names = existsSync(sandboxesDir)
    ? readdirSync(sandboxesDir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(path.join(sandboxesDir, e.name, 'Dockerfile')))
        .map((e) => e.name)
        .sort()
    : [];
  for (const name of names) {
    targets.push({ name: `sandbox/${name}`, tag: sandboxImageTag(name), contextDir: path.join(sandboxesDir, name) });
  }
  if (existsSync(path.join(repoRoot, 'graders/Dockerfile'))) {
    targets.push({ name: 'grader', tag: GRADER_IMAGE_TAG, contextDir: path.join(repoRoot, 'graders') });
  }
  return targets;
}

/**
 * The targets in an order that builds every image before those that start FROM it (sandboxes/ci starts FROM
 * opslab/sandbox-base:latest); otherwise in the given order. A cycle is an error naming it.
 */
export function buildOrder(targets: ImageTarget[], basesOf: (t: ImageTarget) => string[]): ImageTarget[] {
  const byTag = new Map(targets.map((t) => [t.tag, t]));
  const out: ImageTarget[] = [];
  const state = new Map<ImageTarget, 'visiting' | 'done'>();
  const visit = (t: ImageTarget, path: string[]): void => {
    const seen = state.get(t);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new Error(`images start FROM each other in a circle: ${[...path, t.name].join(' -> ')}`);
    state.set(t, 'visiting');
    for (const base of basesOf(t)) {
      const dep = byTag.get(base);
      if (dep) visit(dep, [...path, t.name]);
    }
    state.set(t, 'done');
    out.push(t);
  };
  for (const t of targets) visit(t, []);
  return out;
}

/** The external images a Dockerfile starts FROM (build stages it names itself are left out). */
export function dockerfileBases(dockerfile: string): string[] {
  const stages = new Set<string>();
  const bases: string[] = [];
  for (const raw of dockerfile.split('\n')) {
    const m = /^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(raw);
    if (!m) continue;
    const image = m[1]!;
    if (!stages.has(image.toLowerCase()) && image !== 'scratch' && !bases.includes(image)) bases.push(image);
    if (m[2]) stages.add(m[2].toLowerCase());
  }
  return bases;
}

/** sha256 over every entry of the build context (path, kind, exec bit, content or link target). */
export function contextHash(contextDir: string, baseIds: string[]): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    const entries = readdirSync(path.join(contextDir, rel)).sort();
    for (const name of entries) {
      const relPath = rel ? `${rel}/${name}` : name;
      const abs = path.join(contextDir, relPath);
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        h.update(`d ${relPath}\0`);
        walk(relPath);
      } else if (st.isSymbolicLink()) {
        h.update(`l ${relPath}\0${readlinkSync(abs)}\0`);
      } else if (st.isFile()) {
        h.update(`f ${relPath} ${st.mode & 0o111 ? 'x' : '-'}\0`);
        h.update(readFileSync(abs));
        h.update('\0');
      }
    }
  };
  walk('');
  for (const id of baseIds) h.update(`base ${id}\0`);
  return `sha256:${h.digest('hex')}`;
}

// One build of a base tag at a time in this process, however many callers ask.
const baseInFlight = new Map<string, Promise<boolean>>();

async function tryPull(engine: ImageEngine, tag: string): Promise<string | null> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), PULL_TIMEOUT_MS);
  try {
    await engine.pullImage(tag, { signal: ac.signal });
    return null;
  } catch (err) {
    return ac.signal.aborted ? `no answer within ${PULL_TIMEOUT_MS / 1000} s` : (err as Error).message;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Make `tag` available in the engine: keep it when present, else pull it, else build it here
 * (only debian:bookworm-slim and node:20-bookworm-slim have an offline recipe).
 * Resolves true when it had to pull or build.
 */
export function ensureBaseImage(
  engine: ImageEngine,
  tag: string,
  opts: { log: Log; debianMirror?: string },
): Promise<boolean> {
  return withImageLock(opts.log, () => ensureBaseImageLocked(engine, tag, opts));
}

function ensureBaseImageLocked(
  engine: ImageEngine,
  tag: string,
  opts: { log: Log; debianMirror?: string },
): Promise<boolean> {
  const running = baseInFlight.get(tag);
  if (running) return running;
  const p = (async () => {
    if (await engine.inspectImage(tag)) return false;
    opts.log(`${tag}: not in the engine, pulling`);
    const pullError = await tryPull(engine, tag);
    if (pullError === null && (await engine.inspectImage(tag))) {
      opts.log(`${tag}: pulled`);
      return true;
    }
    opts.log(`${tag}: pull failed (${pullError?.split('\n')[0]?.trim()}), building it here`);
    if (tag === DEBIAN_BASE_TAG) {
      await buildDebianBase(engine, tag, opts);
    } else if (tag === NODE_BASE_TAG) {
      await ensureBaseImageLocked(engine, DEBIAN_BASE_TAG, opts);
      await buildNodeBase(engine, tag, { log: opts.log, debianTag: DEBIAN_BASE_TAG });
    } else {
      throw new Error(
        `${tag} is not in the engine and cannot be pulled (${pullError}); only ${DEBIAN_BASE_TAG} and ` +
          `${NODE_BASE_TAG} can be built offline: docker load it or start FROM one of those`,
      );
    }
    opts.log(`${tag}: built`);
    return true;
  })().finally(() => baseInFlight.delete(tag));
  baseInFlight.set(tag, p);
  return p;
}

/** Offline-buildable bases first, Debian before Node (Node is built on top of it). */
function baseOrder(tag: string): number {
  return tag === DEBIAN_BASE_TAG ? 0 : tag === NODE_BASE_TAG ? 1 : 2;
}

/**
 * Make every image the repository defines available and current. A second call with nothing
 * changed builds nothing (every result has built: false).
 */
export function ensureImages(opts: EnsureImagesOptions): Promise<ImageResult[]> {
  return withImageLock(opts.log, () => ensureImagesLocked(opts));
}

async function ensureImagesLocked(opts: EnsureImagesOptions): Promise<ImageResult[]> {
  const { engine, repoRoot, log } = opts;
  const baseOpts = { log, ...(opts.debianMirror ? { debianMirror: opts.debianMirror } : {}) };
  // Each Dockerfile is read once: its FROM lines order the builds, name the bases and go into the content hashes.
  const fromLines = new Map<ImageTarget, string[]>();
  const basesOf = (t: ImageTarget): string[] => {
    let bases = fromLines.get(t);
    if (!bases) fromLines.set(t, (bases = dockerfileBases(readFileSync(path.join(t.contextDir, 'Dockerfile'), 'utf8'))));
    return bases;
  };
  const targets = buildOrder([...listTargets(repoRoot), ...(opts.extra ?? [])], basesOf);
  const ours = new Set(targets.map((t) => t.tag));
  const results: ImageResult[] = [];

  // Every base FROM any of our Dockerfiles, including the server image's for docker compose; an image this
  // repository builds itself (opslab/sandbox-base) is built in its turn below, never pulled.
  const serverDockerfile = path.join(repoRoot, 'server/Dockerfile');
  const serverBases = existsSync(serverDockerfile) ? dockerfileBases(readFileSync(serverDockerfile, 'utf8')) : [];
  const bases = [...new Set([...targets.flatMap(basesOf), ...serverBases])]
    .filter((tag) => !ours.has(tag))
    .sort((a, b) => baseOrder(a) - baseOrder(b) || a.localeCompare(b));
  for (const tag of bases) {
    const t0 = performance.now();
    const built = await ensureBaseImageLocked(engine, tag, baseOpts);
    results.push({ name: `base/${tag}`, tag, built, ms: Math.round(performance.now() - t0) });
  }

  for (const target of targets) {
    const t0 = performance.now();
    const baseIds: string[] = [];
    // A base built above has its new id here, so an image FROM it is rebuilt whenever it is.
    for (const base of basesOf(target)) {
      const info = await engine.inspectImage(base);
      if (!info) throw new Error(`${target.name}: base image ${base} is missing`);
      baseIds.push(info.id);
    }
    const hash = contextHash(target.contextDir, baseIds);
    const existing = await engine.inspectImage(target.tag);
    if (existing?.labels[CONTENT_HASH_LABEL] === hash) {
      log(`${target.tag}: up to date`);
      results.push({ name: target.name, tag: target.tag, built: false, ms: Math.round(performance.now() - t0) });
      continue;
    }
    log(`${target.tag}: building (${existing ? 'context changed' : 'not built yet'})`);
    const id = await buildImageFromDir(engine, target.contextDir, target.tag, {
      log,
      labels: { [CONTENT_HASH_LABEL]: hash, 'opslab.image': target.name },
    });
    if (existing && existing.id !== id) await removeIfUntagged(engine, existing.id);
    const ms = Math.round(performance.now() - t0);
    log(`${target.tag}: built in ${(ms / 1000).toFixed(1)} s`);
    results.push({ name: target.name, tag: target.tag, built: true, ms });
  }
  return results;
}
