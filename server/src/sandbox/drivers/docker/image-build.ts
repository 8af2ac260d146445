// The bounded image build: a candidate's Dockerfile (parsed by grading/dockerfile.ts) built step by step with the
// platform's own hardening, for grading.
//
// Why not the engine's builder: it runs each RUN in a container with the engine's default capabilities and
// runtime, no pids limit, and (BuildKit) no way to use gVisor; a RUN there is the candidate's code running with less
// isolation than their sandbox. So each step is done here with the engine's plain container API:
// - RUN: a fresh container of the previous step's image, created like a clean-room job (jobContainerSpec with the
//   sandbox hardening: the capability allow-list, no-new-privileges, memory/CPU/pids limits, the operator's runtime
//   so gVisor applies, no network at all), its command as the entrypoint, then committed. The whole build has one
//   time limit; a step's output is kept up to a cap (head and tail) and a step that writes more than 64 times that
//   is stopped; with a disk quota, no file can grow past it (RLIMIT_FSIZE) and a step's writable layer is sampled
//   every 250 ms and the step stopped past it.
// - COPY/ADD: the files come only from the context tar the caller gives (read into memory up to a cap, links kept
//   as links, `..` refused: build-context.ts) or from an earlier stage's image through the archive API; they are put
//   into a created (never started) container of the previous image through the archive API, which the engine
//   extracts confined to that container's filesystem, and committed. ADD never fetches or extracts.
// - metadata (ENV, ARG, WORKDIR, USER, EXPOSE, HEALTHCHECK, CMD, ENTRYPOINT, LABEL, STOPSIGNAL, SHELL, VOLUME) is
//   kept here and applied at the end of each stage by committing one created container whose configuration is
//   exactly the image's (the commit API's `changes` would merge the last RUN container's own command into an image
//   that sets none). An image without an ENTRYPOINT gets an empty one, for the same reason.
// ARG values reach a shell-form RUN of a POSIX shell as exported variables put before its command, never through
// the container's environment (which the image would keep); an exec-form RUN does not see them.
// Nothing is ever pulled: a base image must be on the engine and in the caller's allow-list. Every container and
// image made carries the installation's labels, `opslab.role=build` and `opslab.build=<id>`: listJobs() (the
// reconciler's stale job sweep) finds leftover containers, listBuildImages() leftover images.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tarStream from 'tar-stream';
import { LABELS } from '../../labels.js';
import { expandWord, normalizeImageRef, WordError, type DockerfileInstruction, type ImageBuildFailure, type ImageBuildResult, type ImageBuildSpec, type ImageBuildStep, type StageBase } from '../../image-build-spec.js';
import type { JobRole } from '../../sandbox-driver.js';
import { BuildRefusal, copyItems, looksLikeArchive, packItems, readContext, resolveSource, type BuildContext, type ContextEntry } from './build-context.js';
import { jobContainerSpec } from './container-spec.js';
import { statusOf } from './errors.js';
import { CappedOutput, ExecDemuxer } from './exec.js';
import { readProgress } from './image-engine.js';
import { statPath } from './paths.js';

export const BUILD_ROLE: JobRole = 'build';
/** The label every container and image of one build carries (its value: the build's id). */
export const BUILD_LABEL = 'opslab.build';
/**
 * How often a RUN step's writable layer is sampled against the disk quota (the engine walks the layer for it: about
 * a millisecond for a few large files). A single file is bounded exactly by RLIMIT_FSIZE at the quota.
 */
const DISK_SAMPLE_MS = 250;
const DEFAULT_SHELL = ['/bin/sh', '-c'];

export interface ImageBuildDeps {
  docker: Docker;
  instance: string;
  runtime: string;
  capabilities: readonly string[];
  extraLabels: Record<string, string>;
}

interface ImageConfig {
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

interface Stage {
  image: string | null;
  size: number;
  config: ImageConfig;
  args: Map<string, string>;
  cmdSet: boolean;
}

class StepFailure extends Error {
  constructor(
    readonly reason: ImageBuildFailure,
    message: string,
  ) {
    super(message);
  }
}

const envMap = (env: string[]) =>
  new Map(env.map((e) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, ''])));
const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
const POSIX_SHELL = /(^|\/)(sh|bash|dash|ash|zsh|ksh|mksh)$/;

/** The image's repository name for this installation (`opslab-build/<instance>`). */
export function buildRepository(instance: string): string {
  return `opslab-build/${instance.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}`;
}

export async function buildImage(deps: ImageBuildDeps, spec: ImageBuildSpec): Promise<ImageBuildResult> {
  return new ImageBuild(deps, spec).run();
}

class ImageBuild {
  private readonly id = randomBytes(6).toString('hex');
  private readonly log: CappedOutput;
  private readonly history: ImageBuildStep[] = [];
  private readonly images: string[] = [];
  private readonly stages: Stage[] = [];
  private readonly t0 = Date.now();
  private readonly deadline: number;
  private context: BuildContext = new Map();
  private line: number | null = null;

  constructor(
    private readonly deps: ImageBuildDeps,
    private readonly spec: ImageBuildSpec,
  ) {
    this.log = new CappedOutput(Math.floor(spec.maxLogBytes / 4), Math.ceil((spec.maxLogBytes * 3) / 4));
    this.deadline = this.t0 + spec.timeoutMs;
  }

  private labels(): Record<string, string> {
    const { spec, deps } = this;
    return {
      ...deps.extraLabels,
      ...spec.labels,
      [LABELS.instance]: deps.instance,
      [LABELS.role]: BUILD_ROLE,
      [BUILD_LABEL]: this.id,
      ...(spec.attemptId ? { [LABELS.attempt]: spec.attemptId } : {}),
      ...(spec.exerciseId ? { [LABELS.exercise]: spec.exerciseId } : {}),
    };
  }

  private say(text: string): void {
    this.log.push(Buffer.from(text));
  }

  async run(): Promise<ImageBuildResult> {
    let final: string | null = null;
    try {
      this.context = await readContext(this.spec.context, this.spec.maxContextBytes);
      const allowed = new Set(this.spec.allowedBaseImages.map(normalizeImageRef));
      // Every base image is checked before anything runs.
      for (const ins of this.spec.instructions) {
        if (ins.kind === 'FROM' && ins.base.kind === 'image' && !allowed.has(normalizeImageRef(ins.base.ref))) {
          this.line = ins.line;
          throw new BuildRefusal(`FROM ${ins.base.ref}: not an allowed base image`);
        }
      }
      if (this.spec.instructions[0]?.kind !== 'FROM') throw new BuildRefusal('the build does not start with FROM');
      for (const ins of this.spec.instructions) {
        if (Date.now() > this.deadline) throw new StepFailure('timeout', `the build took longer than ${this.spec.timeoutMs} ms`);
        this.line = ins.line;
        await this.step(ins);
      }
      this.line = null;
      final = await this.seal(this.stages.length - 1);
      const tag = randomBytes(8).toString('hex');
      await this.deps.docker.getImage(final).tag({ repo: buildRepository(this.deps.instance), tag });
      this.say(`built ${final} as ${buildRepository(this.deps.instance)}:${tag}\n`);
      return { ok: true, imageId: final, tag: `${buildRepository(this.deps.instance)}:${tag}`, history: this.history, log: this.log.text(), durationMs: Date.now() - this.t0 };
    } catch (err) {
      let reason: ImageBuildFailure;
      if (err instanceof StepFailure) reason = err.reason;
      else if (err instanceof BuildRefusal || err instanceof WordError) reason = 'refused';
      else throw err;
      const where = this.line !== null ? `Dockerfile line ${this.line}: ` : '';
      this.say(`${where}${err.message}\n`);
      return { ok: false, reason, message: `${where}${err.message}`, line: this.line, history: this.history, log: this.log.text(), durationMs: Date.now() - this.t0 };
    } finally {
      // Every image but the result; an intermediate one the result still needs refuses (409) and goes with it.
      for (const id of [...this.images].reverse()) {
        if (id !== final) await this.deps.docker.getImage(id).remove().catch(() => undefined);
      }
    }
  }

  private vars(stage: Stage): Record<string, string> {
    return { ...Object.fromEntries(stage.args), ...Object.fromEntries(envMap(stage.config.Env)) };
  }

  private async step(ins: DockerfileInstruction): Promise<void> {
    if (ins.kind === 'FROM') {
      if (this.stages.length > 0) await this.seal(this.stages.length - 1);
      this.say(`#${this.history.length + 1} ${ins.text}\n`);
      this.stages.push(await this.startStage(ins.base));
      this.history.push({ line: ins.line, instruction: ins.text, layerBytes: 0, durationMs: 0 });
      return;
    }
    const stage = this.stages[this.stages.length - 1]!;
    const c = stage.config;
    const x = (w: string) => expandWord(w, this.vars(stage));
    const t = Date.now();
    let layerBytes = 0;
    this.say(`#${this.history.length + 1} ${ins.text}\n`);
    switch (ins.kind) {
      case 'RUN':
        layerBytes = await this.runStep(stage, ins.form === 'exec' ? { exec: ins.argv } : { shell: ins.command });
        break;
      case 'COPY':
        layerBytes = await this.copyStep(stage, ins);
        break;
      case 'ENV': {
        const env = envMap(c.Env);
        for (const [k, v] of ins.pairs) env.set(x(k), x(v));
        c.Env = [...env].map(([k, v]) => `${k}=${v}`);
        break;
      }
      case 'LABEL':
        for (const [k, v] of ins.pairs) c.Labels[x(k)] = x(v);
        break;
      case 'ARG': {
        const value = this.spec.buildArgs?.[ins.name] ?? (ins.value !== null ? x(ins.value) : null);
        if (value !== null) stage.args.set(ins.name, value);
        break;
      }
      case 'WORKDIR':
        c.WorkingDir = path.posix.resolve('/', c.WorkingDir || '/', x(ins.value));
        break;
      case 'USER':
        c.User = x(ins.value);
        break;
      case 'STOPSIGNAL':
        c.StopSignal = x(ins.value);
        break;
      case 'EXPOSE':
        for (const raw of ins.values) {
          const p = x(raw);
          if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/i.test(p)) throw new BuildRefusal(`EXPOSE ${p}: not a port (8080 or 8080/tcp)`);
          c.ExposedPorts[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        break;
      case 'VOLUME':
        for (const raw of ins.values) c.Volumes[path.posix.resolve('/', x(raw))] = {};
        break;
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
        break;
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
        break;
      }
      case 'SHELL':
        c.Shell = ins.argv;
        break;
    }
    this.history.push({ line: ins.line, instruction: ins.text, layerBytes, durationMs: Date.now() - t });
  }

  private async startStage(base: StageBase): Promise<Stage> {
    const empty: ImageConfig = { Env: [], Cmd: null, Entrypoint: null, User: '', WorkingDir: '', ExposedPorts: {}, Labels: {}, Volumes: {} };
    if (base.kind === 'scratch') return { image: null, size: 0, config: empty, args: new Map(), cmdSet: false };
    let ref: string;
    if (base.kind === 'stage') {
      const earlier = this.stages[base.index];
      if (!earlier?.image) throw new BuildRefusal(`stage ${base.index} is not an earlier stage`);
      ref = earlier.image;
    } else ref = base.ref;
    let info: Docker.ImageInspectInfo;
    try {
      info = await this.deps.docker.getImage(ref).inspect();
    } catch (err) {
      if (statusOf(err) === 404) throw new BuildRefusal(`the base image ${ref} is not on the engine (nothing is pulled)`);
      throw err;
    }
    const ic = info.Config as Docker.ImageInspectInfo['Config'] & { Healthcheck?: Record<string, unknown>; StopSignal?: string; Shell?: string[] };
    const config: ImageConfig = {
      Env: [...(ic.Env ?? [])],
      Cmd: ic.Cmd && ic.Cmd.length ? [...ic.Cmd] : null,
      Entrypoint: ic.Entrypoint && (ic.Entrypoint as string[]).length ? [...(ic.Entrypoint as string[])] : null,
      User: ic.User ?? '',
      WorkingDir: ic.WorkingDir ?? '',
      ExposedPorts: { ...(ic.ExposedPorts ?? {}) },
      // The platform's own labels of an earlier stage are not the candidate's.
      Labels: Object.fromEntries(Object.entries(ic.Labels ?? {}).filter(([k]) => !k.startsWith('opslab.'))),
      Volumes: { ...((ic.Volumes as Record<string, object> | null) ?? {}) },
      ...(ic.Healthcheck ? { Healthcheck: ic.Healthcheck } : {}),
      ...(ic.StopSignal ? { StopSignal: ic.StopSignal } : {}),
      ...(ic.Shell ? { Shell: ic.Shell } : {}),
    };
    return { image: info.Id, size: info.Size, config, args: new Map(), cmdSet: false };
  }

  /** A container of `image` with the sandbox hardening, labelled; not started. */
  private async createContainer(image: string, overrides: Docker.ContainerCreateOptions, ulimits: { Name: string; Soft: number; Hard: number }[] = []): Promise<Docker.Container> {
    const base = jobContainerSpec(
      { role: BUILD_ROLE, image, limits: this.spec.limits, hardening: 'sandbox' },
      {
        name: `opslab-${this.deps.instance}-build-${this.id}-${randomBytes(3).toString('hex')}`,
        labels: this.labels(),
        runtime: this.deps.runtime,
        capabilities: this.deps.capabilities,
      },
    );
    // No init: the engine's init binary would be mounted into the image's filesystem and end up in the commit.
    const hostConfig = { ...base.HostConfig, Init: false, Ulimits: [...(base.HostConfig?.Ulimits ?? []), ...ulimits] };
    return this.deps.docker.createContainer({ ...base, Hostname: 'build', ...overrides, HostConfig: hostConfig });
  }

  private async commit(container: Docker.Container, stage: Stage): Promise<number> {
    const r = (await container.commit({ pause: false })) as { Id: string };
    this.images.push(r.Id);
    const size = (await this.deps.docker.getImage(r.Id).inspect()).Size;
    const layer = Math.max(0, size - stage.size);
    stage.image = r.Id;
    stage.size = size;
    return layer;
  }

  private async remove(container: Docker.Container): Promise<void> {
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }

  private async runStep(stage: Stage, cmd: { exec: string[] } | { shell: string }): Promise<number> {
    if (!stage.image) throw new BuildRefusal('RUN in an empty (scratch) stage: there is nothing to run');
    const c = stage.config;
    let argv: string[];
    if ('exec' in cmd) argv = cmd.exec;
    else {
      const shell = c.Shell ?? DEFAULT_SHELL;
      const env = envMap(c.Env);
      const args = [...stage.args].filter(([k]) => !env.has(k));
      const prefix = args.length && POSIX_SHELL.test(shell[0]!) ? `export ${args.map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')}\n` : '';
      argv = [...shell, prefix + cmd.shell];
    }
    const quota = this.spec.diskQuotaBytes;
    const container = await this.createContainer(stage.image, {
      Entrypoint: argv,
      Cmd: undefined,
      Env: c.Env,
      User: c.User,
      WorkingDir: c.WorkingDir || undefined,
      AttachStdout: true,
      AttachStderr: true,
    }, quota > 0 ? [{ Name: 'fsize', Soft: quota, Hard: quota }] : []);
    try {
      const output = new CappedOutput(Math.floor(this.spec.maxStepOutputBytes / 4), Math.ceil((this.spec.maxStepOutputBytes * 3) / 4));
      const maxRead = this.spec.maxStepOutputBytes * 64;
      let read = 0;
      let stopped: StepFailure | null = null;
      let wake!: () => void;
      const limitHit = new Promise<void>((resolve) => (wake = resolve));
      const stop = (f: StepFailure) => {
        if (stopped) return;
        stopped = f;
        wake();
      };
      const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
      const demux = new ExecDemuxer(
        (b) => output.push(b),
        (b) => output.push(b),
      );
      stream.on('data', (b: Buffer) => {
        read += b.length;
        if (read > maxRead) stop(new StepFailure('output', `the step wrote more than ${maxRead} bytes of output: stopped`));
        else demux.push(b);
      });
      // 'next-exit', asked before the start: the default ('not-running') answers at once for a created container.
      const waited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
      // Handled here too: a step stopped at a limit (or whose start failed) never awaits it.
      waited.catch(() => undefined);
      await container.start();
      const timer = setTimeout(() => stop(new StepFailure('timeout', `the build took longer than ${this.spec.timeoutMs} ms: stopped`)), Math.max(0, this.deadline - Date.now()));
      let sampling = false;
      const sampler =
        quota > 0
          ? setInterval(() => {
              if (sampling) return;
              sampling = true;
              container
                .inspect({ size: true } as Docker.ContainerInspectOptions)
                .then((i: Docker.ContainerInspectInfo & { SizeRw?: number }) => {
                  if ((i.SizeRw ?? 0) > quota) stop(new StepFailure('disk', `the step wrote ${i.SizeRw} bytes to its disk, over the quota of ${quota}: stopped`));
                })
                .catch(() => undefined)
                .finally(() => (sampling = false));
            }, DISK_SAMPLE_MS)
          : null;
      const t = Date.now();
      const exit = await Promise.race([waited, limitHit.then(() => null)]).finally(() => {
        clearTimeout(timer);
        if (sampler) clearInterval(sampler);
      });
      if (exit === null) await container.kill().catch(() => undefined);
      await new Promise((r) => setImmediate(r));
      (stream as unknown as Readable).destroy?.();
      const text = output.text();
      this.say(text + (text && !text.endsWith('\n') ? '\n' : ''));
      if (stopped) throw stopped;
      const code = exit!.StatusCode;
      if (code !== 0) {
        const oom = code === 137 && (await container.inspect()).State.OOMKilled;
        throw new StepFailure('failed', `RUN exited with code ${code}${oom ? ' (out of memory)' : ''}`);
      }
      const layer = await this.commit(container, stage);
      this.say(`--> ${((Date.now() - t) / 1000).toFixed(1)} s, ${layer} bytes\n`);
      return layer;
    } finally {
      await this.remove(container);
    }
  }

  private async copyStep(stage: Stage, ins: DockerfileInstruction & { kind: 'COPY' }): Promise<number> {
    const vars = this.vars(stage);
    const sources = ins.sources.map((s) => expandWord(s, vars));
    const rawDest = expandWord(ins.dest, vars);
    const dest = path.posix.resolve('/', stage.config.WorkingDir || '/', rawDest);
    let entries: ContextEntry[] = [];
    let ctx: BuildContext = this.context;
    if (ins.from !== null) {
      const from = this.stages[ins.from];
      if (!from?.image) throw new BuildRefusal(`COPY --from=${ins.from}: that stage has no files`);
      // The stage's files through the archive API of a created (never started) container of its image.
      const holder = await this.createContainer(from.image, { Cmd: ['true'] });
      try {
        ctx = new Map();
        for (const s of sources) {
          const abs = path.posix.resolve('/', s);
          let tar: Readable;
          try {
            tar = (await holder.getArchive({ path: abs })) as unknown as Readable;
          } catch (err) {
            if (statusOf(err) === 404) throw new BuildRefusal(`COPY --from: ${abs} is not in stage ${ins.from}`);
            throw err;
          }
          const part = await readContext(tar, this.spec.maxContextBytes, `${abs} of stage ${ins.from}`);
          const top = path.posix.basename(abs) || '';
          for (const [k, v] of part) ctx.set(k, v);
          entries.push(...resolveSource(part, top, `stage ${ins.from}`));
        }
      } finally {
        await this.remove(holder);
      }
    } else {
      for (const s of sources) entries.push(...resolveSource(ctx, s));
    }
    if (ins.add) {
      for (const e of entries) {
        const files = e.type === 'file' ? [e] : [...ctx.values()].filter((f) => f.type === 'file' && f.path.startsWith(e.path === '' ? '' : `${e.path}/`));
        const archive = files.find((f) => looksLikeArchive(f.body));
        if (archive) throw new BuildRefusal(`ADD ${archive.path}: an archive (the engine's builder would extract it): use COPY and RUN tar`);
      }
    }
    entries = [...new Map(entries.map((e) => [e.path, e])).values()];
    let destIsDir = rawDest.endsWith('/') || entries.length > 1;
    const container = stage.image ? await this.createContainer(stage.image, { Cmd: ['true'] }) : null;
    try {
      if (container && !destIsDir) destIsDir = (await statPath(this.deps.docker, container.id, dest, true))?.type === 'directory';
      const owner = ins.chown ? await this.owner(container, expandWord(ins.chown, vars)) : { uid: 0, gid: 0 };
      const tar = packItems(copyItems(ctx, entries, dest, destIsDir), owner, ins.chmod);
      if (!container) return await this.importLayer(stage, tar);
      await container.putArchive(tar, { path: '/' });
      return await this.commit(container, stage);
    } finally {
      if (container) await this.remove(container);
    }
  }

  /** A scratch stage's first files: an image imported from their tar. */
  private async importLayer(stage: Stage, tar: Readable): Promise<number> {
    const changes = Object.entries(this.labels()).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
    const events = await readProgress(await this.deps.docker.importImage(tar as unknown as NodeJS.ReadableStream, { changes } as object));
    const id = events.map((e) => e.status ?? '').find((s) => /^sha256:[0-9a-f]{64}$/.test(s));
    if (!id) throw new Error('the engine did not say which image it imported');
    this.images.push(id);
    stage.image = id;
    stage.size = (await this.deps.docker.getImage(id).inspect()).Size;
    return stage.size;
  }

  /** `user[:group]` as ids: numbers as they are, names from the image's /etc/passwd and /etc/group. */
  private async owner(container: Docker.Container | null, chown: string): Promise<{ uid: number; gid: number }> {
    const [user, group] = chown.split(':') as [string, string | undefined];
    const lookup = async (file: string, name: string): Promise<number> => {
      if (/^\d+$/.test(name)) return Number(name);
      if (!container) throw new BuildRefusal(`--chown=${chown}: names need an image with ${file} (use ids in a scratch stage)`);
      const ctx = await readContext((await container.getArchive({ path: file }).catch(() => null)) as unknown as Readable, 4 * 1024 * 1024, file).catch(() => null);
      const body = ctx?.get(path.posix.basename(file))?.body.toString('utf8') ?? '';
      const row = body.split('\n').find((l) => l.split(':')[0] === name);
      if (!row) throw new BuildRefusal(`--chown=${chown}: no ${name} in the image's ${file}`);
      return Number(row.split(':')[2]);
    };
    const uid = await lookup('/etc/passwd', user);
    const gid = group !== undefined ? await lookup('/etc/group', group) : uid;
    return { uid, gid };
  }

  /** The stage's image with its exact configuration (and its WORKDIR made); returns its id. */
  private async seal(index: number): Promise<string> {
    const stage = this.stages[index]!;
    const c = stage.config;
    if (!stage.image) await this.importLayer(stage, emptyTar());
    const container = await this.createContainer(stage.image!, {
      Entrypoint: c.Entrypoint ?? [],
      Cmd: c.Cmd ?? undefined,
      Env: c.Env,
      User: c.User,
      WorkingDir: c.WorkingDir || undefined,
      ExposedPorts: c.ExposedPorts,
      Volumes: c.Volumes,
      Labels: { ...c.Labels, ...this.labels() },
      ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
      ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
      ...(c.Shell ? { Shell: c.Shell } : {}),
    } as Docker.ContainerCreateOptions);
    try {
      if (c.WorkingDir && !(await statPath(this.deps.docker, container.id, c.WorkingDir, true))) {
        const dir = c.WorkingDir.replace(/^\/+/, '');
        await container.putArchive(packItems([{ name: dir, type: 'directory', mode: 0o755, body: Buffer.alloc(0), linkname: '' }], { uid: 0, gid: 0 }, null), { path: '/' });
      }
      await this.commit(container, stage);
      return stage.image!;
    } finally {
      await this.remove(container);
    }
  }
}

function emptyTar(): Readable {
  const pack = tarStream.pack();
  pack.finalize();
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

/** Images of this installation's builds (results and leftovers), newest first, with their age. */
export async function listBuildImages(docker: Docker, instance: string): Promise<{ id: string; ageSeconds: number }[]> {
  const list = await docker.listImages({ all: true, filters: { label: [`${LABELS.instance}=${instance}`, `${LABELS.role}=${BUILD_ROLE}`] } } as Docker.ListImagesOptions);
  const now = Date.now() / 1000;
  return list.sort((a, b) => b.Created - a.Created).map((i) => ({ id: i.Id, ageSeconds: Math.max(0, Math.round(now - i.Created)) }));
}

/** Removes a built image (by id or tag) and the untagged steps only it needed; a missing one is success. */
export async function removeBuildImage(docker: Docker, ref: string): Promise<void> {
  try {
    await docker.getImage(ref).remove({ force: true });
  } catch (err) {
    if (statusOf(err) === 404) return;
    throw err;
  }
}
