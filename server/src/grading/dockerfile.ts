// A candidate's Dockerfile read into the instructions the bounded image build runs (sandbox/drivers/docker/
// image-build.ts). Pure: no engine, no files. Everything the build could not run safely, or would run differently
// from the engine's own builder, is refused here with the line it is on, before anything runs:
// - FROM only of an allowed image (the caller's list), an earlier stage, or `scratch`; no variables in FROM (so an
//   ARG before the first FROM is refused too), no --platform;
// - RUN without flags (--mount, --network, --security and any other are refused) and without heredocs;
// - COPY --from only of an earlier stage, never of an image; no source outside the context (`..`);
// - ADD only as a COPY of local files: a URL, a git source or an archive (by its name; the build refuses one by its
//   content too) is refused, since the engine's builder would fetch or extract it;
// - ONBUILD, MAINTAINER and anything unknown are refused; so are the `escape` parser directive (other than `\`)
//   and instructions past `maxInstructions` or a Dockerfile over `maxBytes`. The `syntax` and `check` directives
//   are ignored (nothing is ever pulled), and `notes` says so.
import {
  normalizeImageRef,
  type CommandForm,
  type DockerfileInstruction,
  type HealthcheckSpec,
  type StageBase,
} from '../sandbox/image-build-spec.js';

export interface DockerfileLimits {
  /** Base images a FROM may name (e.g. opslab/sandbox-base:latest); `debian` means `debian:latest`. */
  allowedBaseImages: readonly string[];
  /** Instructions in all; default 200. */
  maxInstructions?: number;
  /** Bytes of the Dockerfile; default 64 KiB. */
  maxBytes?: number;
}

export interface ParsedDockerfile {
  instructions: DockerfileInstruction[];
  /** Stage names by index (null: unnamed). */
  stages: (string | null)[];
  /** What was accepted but ignored (a `syntax` directive). */
  notes: string[];
}

export const DOCKERFILE_DEFAULTS = { maxInstructions: 200, maxBytes: 64 * 1024 } as const;

/** A Dockerfile the build refuses; `line` is 1-based (0: the file as a whole). */
export class DockerfileError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `Dockerfile line ${line}: ${reason}` : `Dockerfile: ${reason}`);
    this.name = 'DockerfileError';
  }
}

interface RawInstruction {
  line: number;
  keyword: string;
  args: string;
}

const STAGE_NAME = /^[a-z][a-z0-9_.-]*$/;
const ARCHIVE_NAME = /\.(tar|tgz|tbz2?|txz|tzst|tar\.(gz|bz2|xz|zst|lz4)|gz|bz2|xz|zst)$/i;
const URL_SOURCE = /^([a-z][a-z0-9+.-]*:\/\/|git@)/i;

/** Splits arguments at unquoted whitespace, keeping quotes and escapes in the words (expandWord resolves them). */
export function splitWords(args: string, line: number): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let inWord = false;
  for (let i = 0; i < args.length; i++) {
    const c = args[i]!;
    if (quote) {
      cur += c;
      if (c === '\\' && quote === '"' && i + 1 < args.length) cur += args[++i];
      else if (c === quote) quote = null;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      inWord = true;
      cur += c;
      if (c === '\\' && i + 1 < args.length) cur += args[++i];
      else if (c === '"' || c === "'") quote = c;
    }
  }
  if (quote) throw new DockerfileError(line, `unterminated ${quote}`);
  if (inWord) words.push(cur);
  return words;
}

/** The JSON (exec) form, or null when the arguments are not a JSON array of strings (the shell form). */
function jsonArray(args: string): string[] | null {
  const t = args.trim();
  if (!t.startsWith('[')) return null;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // Not JSON: the shell form, as the engine's builder reads it.
  }
  return null;
}

function commandForm(args: string): CommandForm {
  const argv = jsonArray(args);
  return argv ? { form: 'exec', argv } : { form: 'shell', command: args.trim() };
}

/** Leading `--name=value` flags; each must be in `allowed` (else the refusal names it). */
function takeFlags(line: number, keyword: string, args: string, allowed: readonly string[], refusedWhy: Record<string, string> = {}) {
  const flags = new Map<string, string>();
  let rest = args.trimStart();
  for (;;) {
    const m = /^--([A-Za-z-]+)(?:=(\S*))?(\s+|$)/.exec(rest);
    if (!m) break;
    const name = m[1]!.toLowerCase();
    if (refusedWhy[name]) throw new DockerfileError(line, `${keyword} --${name} is not allowed: ${refusedWhy[name]}`);
    if (!allowed.includes(name)) throw new DockerfileError(line, `${keyword} --${name} is not supported`);
    if (m[2] === undefined || m[2] === '') throw new DockerfileError(line, `${keyword} --${name} needs a value (--${name}=...)`);
    flags.set(name, m[2]);
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** Joins continuation lines, drops comments and blank lines, reads the parser directives at the top. */
function logicalLines(text: string, notes: string[]): RawInstruction[] {
  const lines = text.split(/\r?\n/);
  const out: RawInstruction[] = [];
  let directives = true;
  let pending: { line: number; text: string } | null = null;
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const lineNo = n + 1;
    const trimmed = raw.trim();
    if (directives) {
      const d = /^#\s*([A-Za-z]+)\s*=\s*(.*?)\s*$/.exec(raw);
      if (d) {
        const key = d[1]!.toLowerCase();
        const value = d[2]!;
        if (key === 'escape') {
          if (value !== '\\') throw new DockerfileError(lineNo, `the escape directive (${JSON.stringify(value)}) is not supported: only \\ escapes`);
          continue;
        }
        if (key === 'syntax' || key === 'check') {
          notes.push(`line ${lineNo}: the ${key} directive is ignored (the build uses its own Dockerfile reader and never pulls one)`);
          continue;
        }
      }
      directives = false;
    }
    if (trimmed.startsWith('#')) continue; // a comment, also inside a continued instruction
    if (pending === null && trimmed === '') continue;
    if (pending !== null && trimmed === '') continue; // an empty line inside a continued instruction
    const continued = /\\\s*$/.test(raw);
    const body = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (pending === null) pending = { line: lineNo, text: body };
    else pending.text += body;
    if (!continued) {
      out.push(split(pending));
      pending = null;
    }
  }
  if (pending !== null) {
    if (pending.text.trim() === '') return out;
    out.push(split(pending));
  }
  return out;
}

function split(p: { line: number; text: string }): RawInstruction {
  const m = /^\s*(\S+)\s*(.*)$/s.exec(p.text)!;
  return { line: p.line, keyword: m[1]!.toUpperCase(), args: m[2]!.trim() };
}

function pairs(line: number, keyword: string, args: string): [string, string][] {
  const words = splitWords(args, line);
  if (words.length === 0) throw new DockerfileError(line, `${keyword} needs at least one name=value`);
  if (!words[0]!.includes('=')) {
    // The legacy `ENV NAME value with spaces` form: one pair.
    if (words.length < 2) throw new DockerfileError(line, `${keyword} ${words[0]} needs a value`);
    return [[words[0]!, args.trim().slice(words[0]!.length).trim()]];
  }
  return words.map((w) => {
    const i = w.indexOf('=');
    if (i <= 0) throw new DockerfileError(line, `${keyword}: ${JSON.stringify(w)} is not name=value`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
}

function duration(line: number, flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!m) throw new DockerfileError(line, `HEALTHCHECK --${flag}=${value} is not a duration (e.g. 30s, 1m)`);
  const unit = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

function healthcheck(line: number, args: string): { check: HealthcheckSpec; shellCommand: string | null } {
  const { flags, rest } = takeFlags(line, 'HEALTHCHECK', args, ['interval', 'timeout', 'start-period', 'start-interval', 'retries']);
  const m = /^(\S+)\s*(.*)$/s.exec(rest);
  const kind = m?.[1]?.toUpperCase();
  if (kind === 'NONE') {
    if (m![2] || flags.size) throw new DockerfileError(line, 'HEALTHCHECK NONE takes no arguments');
    return { check: { test: ['NONE'] }, shellCommand: null };
  }
  if (kind !== 'CMD' || !m![2]) throw new DockerfileError(line, 'HEALTHCHECK needs CMD and a command, or NONE');
  const check: HealthcheckSpec = { test: [] };
  if (flags.has('interval')) check.intervalNs = duration(line, 'interval', flags.get('interval')!);
  if (flags.has('timeout')) check.timeoutNs = duration(line, 'timeout', flags.get('timeout')!);
  if (flags.has('start-period')) check.startPeriodNs = duration(line, 'start-period', flags.get('start-period')!);
  if (flags.has('start-interval')) check.startIntervalNs = duration(line, 'start-interval', flags.get('start-interval')!);
  if (flags.has('retries')) {
    const r = Number(flags.get('retries'));
    if (!Number.isInteger(r) || r < 1) throw new DockerfileError(line, 'HEALTHCHECK --retries must be a whole number of at least 1');
    check.retries = r;
  }
  const form = commandForm(m![2]);
  if (form.form === 'exec') return { check: { ...check, test: ['CMD', ...form.argv] }, shellCommand: null };
  // CMD-SHELL: the stage's SHELL at build time (the engine's builder runs it with `/bin/sh -c` unless SHELL says otherwise).
  return { check: { ...check, test: ['CMD-SHELL', form.command] }, shellCommand: form.command };
}

function hasDotDot(p: string): boolean {
  return p.split('/').includes('..');
}

/**
 * Reads a Dockerfile; throws a DockerfileError naming the line of the first thing it refuses (see the module's
 * comment for what).
 */
export function parseDockerfile(text: string, limits: DockerfileLimits): ParsedDockerfile {
  const maxBytes = limits.maxBytes ?? DOCKERFILE_DEFAULTS.maxBytes;
  const maxInstructions = limits.maxInstructions ?? DOCKERFILE_DEFAULTS.maxInstructions;
  const size = Buffer.byteLength(text);
  if (size > maxBytes) throw new DockerfileError(0, `${size} bytes, over the limit of ${maxBytes}`);
  if (text.includes('\0')) throw new DockerfileError(0, 'it holds a NUL byte (not a text file)');
  const allowed = new Set(limits.allowedBaseImages.map(normalizeImageRef));
  const notes: string[] = [];
  const raws = logicalLines(text, notes);
  if (raws.length > maxInstructions) {
    throw new DockerfileError(raws[maxInstructions]!.line, `more than ${maxInstructions} instructions`);
  }
  const stages: (string | null)[] = [];
  const instructions: DockerfileInstruction[] = [];
  const stageIndex = (name: string): number | null => {
    const lower = name.toLowerCase();
    const byName = stages.indexOf(lower);
    if (byName >= 0) return byName;
    if (/^\d+$/.test(name) && Number(name) < stages.length) return Number(name);
    return null;
  };
  for (const r of raws) {
    const { line, keyword, args } = r;
    const text = `${keyword} ${args}`.trim();
    if (stages.length === 0 && keyword !== 'FROM') {
      if (keyword === 'ARG') throw new DockerfileError(line, 'ARG before the first FROM is not allowed (a base image must be named as is)');
      throw new DockerfileError(line, `${keyword} before the first FROM`);
    }
    const push = (i: DockerfileInstruction) => instructions.push(i);
    if (/<<-?\s*["']?[A-Za-z_]/.test(args) && ['RUN', 'COPY', 'ADD'].includes(keyword)) {
      throw new DockerfileError(line, `heredocs (<<) are not supported in ${keyword}`);
    }
    switch (keyword) {
      case 'FROM': {
        const { rest } = takeFlags(line, 'FROM', args, [], { platform: 'the build uses the engine host\'s platform' });
        const words = rest.split(/\s+/).filter(Boolean);
        if (words.length !== 1 && !(words.length === 3 && words[1]!.toUpperCase() === 'AS')) {
          throw new DockerfileError(line, 'FROM takes an image and optionally AS name');
        }
        const image = words[0]!;
        if (image.includes('$')) throw new DockerfileError(line, `FROM ${image}: variables are not allowed in FROM`);
        const name = words.length === 3 ? words[2]!.toLowerCase() : null;
        if (name !== null) {
          if (!STAGE_NAME.test(name)) throw new DockerfileError(line, `${JSON.stringify(words[2])} is not a valid stage name`);
          if (stages.includes(name)) throw new DockerfileError(line, `stage name ${JSON.stringify(name)} is used twice`);
          if (name === 'scratch') throw new DockerfileError(line, '"scratch" cannot be a stage name');
        }
        let base: StageBase;
        const earlier = stages.indexOf(image.toLowerCase());
        if (image.toLowerCase() === 'scratch') base = { kind: 'scratch' };
        else if (earlier >= 0) base = { kind: 'stage', index: earlier };
        else if (allowed.has(normalizeImageRef(image))) base = { kind: 'image', ref: normalizeImageRef(image) };
        else {
          const list = [...allowed].join(', ') || 'none';
          throw new DockerfileError(line, `FROM ${image}: not an allowed base image (allowed: ${list}, scratch, or an earlier stage)`);
        }
        stages.push(name);
        push({ line, text, kind: 'FROM', base, name });
        break;
      }
      case 'RUN': {
        takeFlags(line, 'RUN', args, [], {
          mount: 'the build mounts nothing into a step',
          network: 'build steps have no network',
          security: 'build steps run with the sandbox hardening only',
        });
        if (!args) throw new DockerfileError(line, 'RUN needs a command');
        push({ line, text, kind: 'RUN', ...commandForm(args) });
        break;
      }
      case 'COPY':
      case 'ADD': {
        const add = keyword === 'ADD';
        const { flags, rest } = takeFlags(
          line,
          keyword,
          args,
          add ? ['chown', 'chmod'] : ['from', 'chown', 'chmod'],
          add ? { checksum: 'ADD never fetches anything', 'keep-git-dir': 'ADD never fetches anything' } : {},
        );
        const words = jsonArray(rest) ?? splitWords(rest, line);
        if (words.length < 2) throw new DockerfileError(line, `${keyword} needs at least one source and a destination`);
        const sources = words.slice(0, -1);
        const dest = words[words.length - 1]!;
        let from: number | null = null;
        if (flags.has('from')) {
          from = stageIndex(flags.get('from')!);
          if (from === null) throw new DockerfileError(line, `COPY --from=${flags.get('from')}: not an earlier stage (copying from an image is not allowed)`);
        }
        for (const s of sources) {
          if (add && URL_SOURCE.test(s)) throw new DockerfileError(line, `ADD ${s}: fetching a URL is not allowed (the build has no network)`);
          if (add && ARCHIVE_NAME.test(s)) throw new DockerfileError(line, `ADD ${s}: ADD is supported only as COPY, and an archive would be extracted by the engine's builder: use COPY (and RUN tar to unpack)`);
          if (from === null && hasDotDot(s.replace(/^\/+/, ''))) throw new DockerfileError(line, `${keyword} ${s}: outside the build context`);
        }
        let chmod: number | null = null;
        if (flags.has('chmod')) {
          const v = flags.get('chmod')!;
          if (!/^[0-7]{3,4}$/.test(v)) throw new DockerfileError(line, `${keyword} --chmod=${v}: only octal modes (e.g. 0755) are supported`);
          chmod = parseInt(v, 8);
        }
        push({ line, text, kind: 'COPY', add, sources, dest, from, chown: flags.get('chown') ?? null, chmod });
        break;
      }
      case 'ENV':
      case 'LABEL':
        push({ line, text, kind: keyword, pairs: pairs(line, keyword, args) });
        break;
      case 'ARG': {
        const words = splitWords(args, line);
        if (words.length !== 1) throw new DockerfileError(line, 'ARG takes one name[=default]');
        const [name, value] = words[0]!.includes('=') ? [words[0]!.slice(0, words[0]!.indexOf('=')), words[0]!.slice(words[0]!.indexOf('=') + 1)] : [words[0]!, null];
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new DockerfileError(line, `ARG ${JSON.stringify(name)} is not a valid name`);
        push({ line, text, kind: 'ARG', name, value });
        break;
      }
      case 'WORKDIR':
      case 'USER':
      case 'STOPSIGNAL':
        if (!args) throw new DockerfileError(line, `${keyword} needs a value`);
        push({ line, text, kind: keyword, value: args });
        break;
      case 'EXPOSE':
      case 'VOLUME': {
        const values = keyword === 'VOLUME' ? (jsonArray(args) ?? splitWords(args, line)) : splitWords(args, line);
        if (values.length === 0) throw new DockerfileError(line, `${keyword} needs a value`);
        push({ line, text, kind: keyword, values });
        break;
      }
      case 'HEALTHCHECK':
        push({ line, text, kind: 'HEALTHCHECK', ...healthcheck(line, args) });
        break;
      case 'CMD':
      case 'ENTRYPOINT':
        if (!args) throw new DockerfileError(line, `${keyword} needs a command`);
        push({ line, text, kind: keyword, ...commandForm(args) });
        break;
      case 'SHELL': {
        const argv = jsonArray(args);
        if (!argv || argv.length === 0) throw new DockerfileError(line, 'SHELL needs a JSON array, e.g. ["/bin/bash", "-c"]');
        push({ line, text, kind: 'SHELL', argv });
        break;
      }
      case 'ONBUILD':
        throw new DockerfileError(line, 'ONBUILD is not allowed');
      case 'MAINTAINER':
        throw new DockerfileError(line, 'MAINTAINER is not supported: use LABEL');
      default:
        throw new DockerfileError(line, `unknown instruction ${keyword}`);
    }
  }
  if (stages.length === 0) throw new DockerfileError(0, 'no FROM');
  return { instructions, stages, notes };
}
