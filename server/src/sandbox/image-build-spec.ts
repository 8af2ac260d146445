// What an image build is given and gives back (JobDriver.buildImage), and the one piece of Dockerfile syntax both
// the parser (grading/dockerfile.ts) and the driver need: a word's quotes and variables, which can only be resolved
// at build time (a base image's ENV is known only then). Pure: no engine, nothing else of the server.
import type { Readable } from 'node:stream';
import type { ResourceLimits } from './resource-limits.js';

/** Where a stage starts: an allowed image, an earlier stage (by index), or nothing. */
export type StageBase = { kind: 'image'; ref: string } | { kind: 'stage'; index: number } | { kind: 'scratch' };

/** A command in the exec form (a JSON array: run as is) or the shell form (run by the stage's SHELL). */
export type CommandForm = { form: 'exec'; argv: string[] } | { form: 'shell'; command: string };

export interface HealthcheckSpec {
  /** ['NONE'], ['CMD', ...argv] or ['CMD-SHELL', command]. */
  test: string[];
  intervalNs?: number;
  timeoutNs?: number;
  startPeriodNs?: number;
  startIntervalNs?: number;
  retries?: number;
}

/**
 * One Dockerfile instruction as parsed. Words marked "raw" keep their quotes and `$variables`: the build expands
 * them with expandWord() against the stage's environment at that point.
 */
export type DockerfileInstruction = { line: number; text: string } & (
  | { kind: 'FROM'; base: StageBase; name: string | null }
  | ({ kind: 'RUN' } & CommandForm)
  | {
      kind: 'COPY';
      /** ADD: accepted only as a COPY of local files (never a URL, never extracted). */
      add: boolean;
      /** Raw. Paths in the context, or in the stage image when `from` is set. */
      sources: string[];
      /** Raw. */
      dest: string;
      /** An earlier stage's index. */
      from: number | null;
      /** Raw: user[:group], names or ids. */
      chown: string | null;
      chmod: number | null;
    }
  | { kind: 'ENV' | 'LABEL'; pairs: [string, string][] }
  | { kind: 'ARG'; name: string; value: string | null }
  | { kind: 'WORKDIR' | 'USER' | 'STOPSIGNAL'; value: string }
  | { kind: 'EXPOSE' | 'VOLUME'; values: string[] }
  | { kind: 'HEALTHCHECK'; check: HealthcheckSpec; shellCommand: string | null }
  | ({ kind: 'CMD' | 'ENTRYPOINT' } & CommandForm)
  | { kind: 'SHELL'; argv: string[] }
);

export interface ImageBuildSpec {
  /** A parsed Dockerfile (grading/dockerfile.ts): one FROM first, every base image already checked. */
  instructions: DockerfileInstruction[];
  /** The build context as a tar (read into memory up to maxContextBytes; over it the build is refused). */
  context: Readable | Buffer;
  /** Images a FROM may name (checked again here, before anything runs). */
  allowedBaseImages: readonly string[];
  /** Every RUN step's container gets these (a clean room's). */
  limits: ResourceLimits;
  /** The whole build, from the first step to the last commit. */
  timeoutMs: number;
  maxContextBytes: number;
  /** Output of one RUN kept for the log (head and tail); past 64 times this the step is stopped. */
  maxStepOutputBytes: number;
  /** The whole build log kept (head and tail). */
  maxLogBytes: number;
  /**
   * Bytes the build's layers may hold in all (what its steps added to the base images); a RUN past what is left is
   * stopped. 0: no quota.
   */
  diskQuotaBytes: number;
  /** Values for the Dockerfile's ARGs (an ARG it does not declare is ignored, as the engine's builder does). */
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  attemptId?: string;
  exerciseId?: string;
}

export interface ImageBuildStep {
  line: number;
  instruction: string;
  /** Bytes this step added to the image (0 for metadata). */
  layerBytes: number;
  durationMs: number;
}

export type ImageBuildFailure = 'refused' | 'failed' | 'timeout' | 'output' | 'disk';

export type ImageBuildResult =
  | { ok: true; imageId: string; tag: string; history: ImageBuildStep[]; log: string; durationMs: number }
  | {
      ok: false;
      reason: ImageBuildFailure;
      message: string;
      /** The Dockerfile line of the step that failed, when one did. */
      line: number | null;
      history: ImageBuildStep[];
      log: string;
      durationMs: number;
    };

/** A word that cannot be expanded (an unterminated quote, an unsupported `${...}`). */
export class WordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WordError';
  }
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/**
 * A word's value: quotes removed, `\` escapes applied, `$NAME`, `${NAME}`, `${NAME:-default}` and
 * `${NAME:+alternative}` replaced from `vars` (unset: empty). Single quotes keep everything literal. Throws a
 * WordError on an unterminated quote or brace, or another `${...}` modifier.
 */
export function expandWord(word: string, vars: Record<string, string>): string {
  let out = '';
  let i = 0;
  const variable = (): string => {
    // At `$`.
    const next = word[i + 1];
    if (next === '{') {
      const end = word.indexOf('}', i + 2);
      if (end < 0) throw new WordError(`unterminated \${ in ${JSON.stringify(word)}`);
      const inner = word.slice(i + 2, end);
      i = end + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\+)(.*))?$/s.exec(inner);
      if (!m) throw new WordError(`unsupported variable \${${inner}} in ${JSON.stringify(word)} (use \${NAME}, \${NAME:-default} or \${NAME:+alternative})`);
      const value = vars[m[1]!];
      if (m[2] === ':-') return value ? value : expandWord(m[3]!, vars);
      if (m[2] === ':+') return value ? expandWord(m[3]!, vars) : '';
      return value ?? '';
    }
    if (next !== undefined && NAME_START.test(next)) {
      let j = i + 1;
      while (j < word.length && NAME_CHAR.test(word[j]!)) j++;
      const name = word.slice(i + 1, j);
      i = j;
      return vars[name] ?? '';
    }
    i++;
    return '$';
  };
  while (i < word.length) {
    const c = word[i]!;
    if (c === '\\') {
      out += word[i + 1] ?? '';
      i += 2;
    } else if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) throw new WordError(`unterminated ' in ${JSON.stringify(word)}`);
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < word.length) {
        const d = word[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < word.length && '"\\$'.includes(word[i + 1]!)) {
          out += word[i + 1];
          i += 2;
        } else if (d === '$') out += variable();
        else {
          out += d;
          i++;
        }
      }
      if (!closed) throw new WordError(`unterminated " in ${JSON.stringify(word)}`);
    } else if (c === '$') out += variable();
    else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * An image reference as the engine's short forms name it: `debian` and `docker.io/library/debian:latest` are one
 * image. A digest is kept as is.
 */
export function normalizeImageRef(ref: string): string {
  let r = ref.trim();
  if (r.startsWith('docker.io/')) r = r.slice('docker.io/'.length);
  if (r.startsWith('library/')) r = r.slice('library/'.length);
  if (r.includes('@')) return r;
  const slash = r.lastIndexOf('/');
  return r.lastIndexOf(':') > slash ? r : `${r}:latest`;
}
