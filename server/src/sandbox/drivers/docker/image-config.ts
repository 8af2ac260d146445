// The configuration an image build keeps for each stage (the image's ENV, USER, CMD... as the engine stores them),
// and the metadata instructions applied to it. Pure: the build (image-build.ts) reads the base image and commits.
import path from 'node:path';
import { expandWord, type DockerfileInstruction } from '../../image-build-spec.js';
import { BuildRefusal } from './build-context.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** The fields of an image's configuration a Dockerfile sets, in the engine's names. */
export interface ImageConfig {
  Env: string[];
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  User: string;
  WorkingDir: string;
  ExposedPorts: Record<string, object>;
  Labels: Record<string, string>;
  Volumes: Record<string, object>;
  Healthcheck?: Record<string, unknown>;
  StopSignal?: string;
  Shell?: string[];
}

/** One stage as the build goes: its latest image, that image's size, its configuration and ARGs. */
export interface StageState {
  image: string | null;
  size: number;
  config: ImageConfig;
  args: Map<string, string>;
  /** Whether this stage set CMD itself (an ENTRYPOINT drops only an inherited one). */
  cmdSet: boolean;
}

export const emptyConfig = (): ImageConfig => ({ Env: [], Cmd: null, Entrypoint: null, User: '', WorkingDir: '', ExposedPorts: {}, Labels: {}, Volumes: {} });

export const envMap = (env: string[]) =>
  new Map(env.map((e) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, ''])));

type EngineConfig = {
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | string | null;
  User?: string;
  WorkingDir?: string;
  ExposedPorts?: Record<string, object> | null;
  Labels?: Record<string, string> | null;
  Volumes?: Record<string, object> | null;
  Healthcheck?: Record<string, unknown>;
  StopSignal?: string;
  Shell?: string[];
};

/** A base image's configuration as the engine's inspect gives it; the platform's own `opslab.*` labels left out. */
export function configFromImage(ic: EngineConfig): ImageConfig {
  const entrypoint = typeof ic.Entrypoint === 'string' ? [ic.Entrypoint] : ic.Entrypoint;
  return {
    Env: [...(ic.Env ?? [])],
    Cmd: ic.Cmd && ic.Cmd.length ? [...ic.Cmd] : null,
    Entrypoint: entrypoint && entrypoint.length ? [...entrypoint] : null,
    User: ic.User ?? '',
    WorkingDir: ic.WorkingDir ?? '',
    ExposedPorts: { ...(ic.ExposedPorts ?? {}) },
    Labels: Object.fromEntries(Object.entries(ic.Labels ?? {}).filter(([k]) => !k.startsWith('opslab.'))),
    Volumes: { ...(ic.Volumes ?? {}) },
    ...(ic.Healthcheck ? { Healthcheck: ic.Healthcheck } : {}),
    ...(ic.StopSignal ? { StopSignal: ic.StopSignal } : {}),
    ...(ic.Shell ? { Shell: ic.Shell } : {}),
  };
}

/** What `$NAME` means at this point of the stage: its ARGs, overridden by its ENV (as the engine's builder does). */
export function stageVars(stage: StageState): Record<string, string> {
  return { ...Object.fromEntries(stage.args), ...Object.fromEntries(envMap(stage.config.Env)) };
}

const POSIX_SHELL = /(^|\/)(sh|bash|dash|ash|zsh|ksh|mksh)$/;
const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

/**
 * The argv of a RUN. ARG values reach a shell-form RUN of a POSIX shell as `export`s put before its command: never
 * through the container's environment, which its commit would keep in the image.
 */
export function runArgv(stage: StageState, ins: DockerfileInstruction & { kind: 'RUN' }): string[] {
  if (ins.form === 'exec') return ins.argv;
  const shell = stage.config.Shell ?? DEFAULT_SHELL;
  const env = envMap(stage.config.Env);
  const args = [...stage.args].filter(([k]) => !env.has(k));
  const prefix = args.length && POSIX_SHELL.test(shell[0]!) ? `export ${args.map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')}\n` : '';
  return [...shell, prefix + ins.command];
}

/** Applies a metadata instruction (anything but FROM, RUN and COPY) to the stage; false when `ins` is none. */
export function applyMetadata(stage: StageState, ins: DockerfileInstruction, buildArgs: Record<string, string> = {}): boolean {
  const c = stage.config;
  const x = (w: string) => expandWord(w, stageVars(stage));
  switch (ins.kind) {
    case 'ENV': {
      const env = envMap(c.Env);
      for (const [k, v] of ins.pairs) env.set(x(k), x(v));
      c.Env = [...env].map(([k, v]) => `${k}=${v}`);
      return true;
    }
    case 'LABEL':
      for (const [k, v] of ins.pairs) c.Labels[x(k)] = x(v);
      return true;
    case 'ARG': {
      const value = buildArgs[ins.name] ?? (ins.value !== null ? x(ins.value) : null);
      if (value !== null) stage.args.set(ins.name, value);
      return true;
    }
    case 'WORKDIR':
      c.WorkingDir = path.posix.resolve('/', c.WorkingDir || '/', x(ins.value));
      return true;
    case 'USER':
      c.User = x(ins.value);
      return true;
    case 'STOPSIGNAL':
      c.StopSignal = x(ins.value);
      return true;
    case 'EXPOSE':
      for (const raw of ins.values) {
        const p = x(raw);
        if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/i.test(p)) throw new BuildRefusal(`EXPOSE ${p}: not a port (8080 or 8080/tcp)`);
        c.ExposedPorts[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
      }
      return true;
    case 'VOLUME':
      for (const raw of ins.values) c.Volumes[path.posix.resolve('/', x(raw))] = {};
      return true;
    case 'HEALTHCHECK': {
      const h = ins.check;
      const test = h.test[0] === 'CMD-SHELL' && c.Shell ? ['CMD', ...c.Shell, h.test[1]!] : h.test;
      c.Healthcheck = {
        Test: test,
        ...(h.intervalNs !== undefined ? { Interval: h.intervalNs } : {}),
        ...(h.timeoutNs !== undefined ? { Timeout: h.timeoutNs } : {}),
        ...(h.startPeriodNs !== undefined ? { StartPeriod: h.startPeriodNs } : {}),
        ...(h.startIntervalNs !== undefined ? { StartInterval: h.startIntervalNs } : {}),
        ...(h.retries !== undefined ? { Retries: h.retries } : {}),
      };
      return true;
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      const argv = ins.form === 'exec' ? ins.argv : [...(c.Shell ?? DEFAULT_SHELL), ins.command];
      if (ins.kind === 'CMD') {
        c.Cmd = argv;
        stage.cmdSet = true;
      } else {
        c.Entrypoint = argv;
        // As the engine's builder does: an ENTRYPOINT drops a CMD inherited from the base image.
        if (!stage.cmdSet) c.Cmd = null;
      }
      return true;
    }
    case 'SHELL':
      c.Shell = ins.argv;
      return true;
    default:
      return false;
  }
}
