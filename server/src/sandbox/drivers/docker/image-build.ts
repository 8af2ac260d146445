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
//   is stopped (run-bounded.ts). With a disk quota, it is the whole build's: the layers made so far count against
//   it, no file of a RUN can grow past what is left (RLIMIT_FSIZE), and a RUN's writable layer is sampled every
//   250 ms and the step stopped past it.
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
import { BuildRefusal, copyItems, looksLikeArchive, packItems, readContext, resolveSource, type BuildContext, type ContextEntry } from './build-context.js';
import { jobContainerSpec } from './container-spec.js';
import { applyMetadata, configFromImage, emptyConfig, runArgv, stageVars, type StageState } from './image-config.js';
import { statusOf } from './errors.js';
import { CappedOutput } from './exec.js';
import { readProgress } from './image-engine.js';
import { statPath } from './paths.js';
import { runBounded } from './run-bounded.js';

/** The `opslab.role` label of a build's containers and images (listJobs() reports them with it). */
export const BUILD_ROLE = 'build';
/** The label every container and image of one build carries (its value: the build's id). */
export const BUILD_LABEL = 'opslab.build';
/** Layers overlay2 stacks at most (the engine refuses a deeper image with "max depth exceeded"). */
export const MAX_LAYERS = 125;

export interface ImageBuildDeps {
  docker: Docker;
  instance: string;
  runtime: string;
  capabilities: readonly string[];
  extraLabels: Record<string, string>;
}

class StepFailure extends Error {
  constructor(
    readonly reason: ImageBuildFailure,
    message: string,
  ) {
    super(message);
  }
}

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
  private readonly stages: StageState[] = [];
  private readonly t0 = Date.now();
  private readonly deadline: number;
  private context: BuildContext = new Map();
  private line: number | null = null;
  /** Bytes the build's layers added so far (every stage), counted against the disk quota. */
  private written = 0;

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

  private async step(ins: DockerfileInstruction): Promise<void> {
    if (ins.kind === 'FROM') {
      if (this.stages.length > 0) await this.seal(this.stages.length - 1);
      this.say(`#${this.history.length + 1} ${ins.text}\n`);
      this.stages.push(await this.startStage(ins.base));
      this.history.push({ line: ins.line, instruction: ins.text, layerBytes: 0, durationMs: 0 });
      return;
    }
    const stage = this.stages[this.stages.length - 1]!;
    const t = Date.now();
    let layerBytes = 0;
    this.say(`#${this.history.length + 1} ${ins.text}\n`);
    if (ins.kind === 'RUN') layerBytes = await this.runStep(stage, runArgv(stage, ins));
    else if (ins.kind === 'COPY') layerBytes = await this.copyStep(stage, ins);
    else applyMetadata(stage, ins, this.spec.buildArgs);
    this.history.push({ line: ins.line, instruction: ins.text, layerBytes, durationMs: Date.now() - t });
  }

  private async startStage(base: StageBase): Promise<StageState> {
    if (base.kind === 'scratch') {
      const layers = this.layerSteps(this.stages.length);
      if (layers > MAX_LAYERS) throw new BuildRefusal(`the stage would have ${layers} layers, over the engine's limit of ${MAX_LAYERS}: combine steps`);
      return { image: null, size: 0, config: emptyConfig(), args: new Map(), cmdSet: false };
    }
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
    // The engine stacks at most MAX_LAYERS layers (overlay2's limit): a build past it is refused before it starts.
    const layers = (info.RootFS?.Layers?.length ?? 0) + this.layerSteps(this.stages.length);
    if (layers > MAX_LAYERS) throw new BuildRefusal(`the stage would have ${layers} layers, over the engine's limit of ${MAX_LAYERS}: combine RUN steps`);
    const config = configFromImage(info.Config as Parameters<typeof configFromImage>[0]);
    return { image: info.Id, size: info.Size, config, args: new Map(), cmdSet: false };
  }

  /** RUN and COPY steps (each a layer) of stage `index` (an earlier stage it starts from has its own in its image). */
  private layerSteps(index: number): number {
    let stage = -1;
    let count = 0;
    for (const ins of this.spec.instructions) {
      if (ins.kind === 'FROM') stage++;
      else if (stage === index && (ins.kind === 'RUN' || ins.kind === 'COPY')) count++;
    }
    return count;
  }

  /** A container of `image` with the sandbox hardening, labelled; not started. */
  private async createContainer(image: string, overrides: Docker.ContainerCreateOptions, ulimits: { Name: string; Soft: number; Hard: number }[] = []): Promise<Docker.Container> {
    // A build step is hardened exactly as a clean room (its labels are the build's own).
    const base = jobContainerSpec(
      { role: 'cleanroom', image, limits: this.spec.limits, hardening: 'sandbox' },
      {
        name: `opslab-${this.deps.instance}-build-${this.id}-${randomBytes(3).toString('hex')}`,
        labels: this.labels(),
        runtime: this.deps.runtime,
        capabilities: this.deps.capabilities,
      },
    );
    // No init: the engine's init binary would be mounted into the image's filesystem and end up in the commit. A
    // build step is the candidate's code, not a measurement: a sandbox's CPU weight, not a job's.
    const { CpuShares: _jobWeight, ...jobHost } = base.HostConfig ?? {};
    const hostConfig = { ...jobHost, Init: false, Ulimits: [...(base.HostConfig?.Ulimits ?? []), ...ulimits] };
    return this.deps.docker.createContainer({ ...base, Hostname: 'build', ...overrides, HostConfig: hostConfig });
  }

  private async commit(container: Docker.Container, stage: StageState): Promise<number> {
    const r = (await container.commit({ pause: false })) as { Id: string };
    this.images.push(r.Id);
    const size = (await this.deps.docker.getImage(r.Id).inspect()).Size;
    const layer = Math.max(0, size - stage.size);
    stage.image = r.Id;
    stage.size = size;
    this.addWritten(layer);
    return layer;
  }

  /** Counts a new layer against the build's disk quota. */
  private addWritten(bytes: number): void {
    this.written += bytes;
    const quota = this.spec.diskQuotaBytes;
    if (quota > 0 && this.written > quota) throw new StepFailure('disk', `the build's layers hold ${this.written} bytes, over the quota of ${quota}`);
  }

  private async remove(container: Docker.Container): Promise<void> {
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }

  private async runStep(stage: StageState, argv: string[]): Promise<number> {
    if (!stage.image) throw new BuildRefusal('RUN in an empty (scratch) stage: there is nothing to run');
    const c = stage.config;
    // The quota is the whole build's: what earlier steps' layers hold is taken off it.
    const quota = this.spec.diskQuotaBytes;
    const left = quota - this.written;
    if (quota > 0 && left <= 0) throw new StepFailure('disk', `the build's layers hold ${this.written} bytes, the whole quota of ${quota}`);
    const container = await this.createContainer(
      stage.image,
      {
        Entrypoint: argv,
        Cmd: undefined,
        Env: c.Env,
        User: c.User,
        WorkingDir: c.WorkingDir || undefined,
        AttachStdout: true,
        AttachStderr: true,
        // No health probes run in a build step (the stage's own check is put back when the stage is sealed).
        ...(c.Healthcheck ? { Healthcheck: { Test: ['NONE'] } } : {}),
      },
      quota > 0 ? [{ Name: 'fsize', Soft: left, Hard: left }] : [],
    );
    try {
      const t = Date.now();
      const r = await runBounded(container, { deadline: this.deadline, maxOutputBytes: this.spec.maxStepOutputBytes, quotaBytes: quota > 0 ? left : 0 });
      this.say(r.output + (r.output && !r.output.endsWith('\n') ? '\n' : ''));
      if (r.stopped) throw new StepFailure(r.stopped.limit, r.stopped.limit === 'timeout' ? `the build took longer than ${this.spec.timeoutMs} ms: stopped` : r.stopped.message);
      if (r.exitCode !== 0) throw new StepFailure('failed', `RUN exited with code ${r.exitCode}${r.oomKilled ? ' (out of memory)' : ''}`);
      const layer = await this.commit(container, stage);
      this.say(`--> ${((Date.now() - t) / 1000).toFixed(1)} s, ${layer} bytes\n`);
      return layer;
    } finally {
      await this.remove(container);
    }
  }

  private async copyStep(stage: StageState, ins: DockerfileInstruction & { kind: 'COPY' }): Promise<number> {
    const vars = stageVars(stage);
    const sources = ins.sources.map((s) => expandWord(s, vars));
    const rawDest = expandWord(ins.dest, vars);
    const dest = path.posix.resolve('/', stage.config.WorkingDir || '/', rawDest);
    // Each source with the files it was found in (the context, or its own archive of the earlier stage).
    const groups: { ctx: BuildContext; entries: ContextEntry[] }[] = [];
    if (ins.from !== null) {
      const from = this.stages[ins.from];
      if (!from?.image) throw new BuildRefusal(`COPY --from=${ins.from}: that stage has no files`);
      // The stage's files through the archive API of a created (never started) container of its image.
      const holder = await this.createContainer(from.image, { Cmd: ['true'] });
      try {
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
          groups.push({ ctx: part, entries: resolveSource(part, path.posix.basename(abs), `stage ${ins.from}`) });
        }
      } finally {
        await this.remove(holder);
      }
    } else {
      const seen = new Set<string>();
      const entries = sources.flatMap((s) => resolveSource(this.context, s)).filter((e) => !seen.has(e.path) && seen.add(e.path));
      groups.push({ ctx: this.context, entries });
    }
    if (ins.add) {
      for (const { ctx, entries } of groups) {
        for (const e of entries) {
          const files = e.type === 'file' ? [e] : [...ctx.values()].filter((f) => f.type === 'file' && f.path.startsWith(e.path === '' ? '' : `${e.path}/`));
          const archive = files.find((f) => looksLikeArchive(f.body));
          if (archive) throw new BuildRefusal(`ADD ${archive.path}: an archive (the engine's builder would extract it): use COPY and RUN tar`);
        }
      }
    }
    // `.` (and `dir/.`) is a directory, and so is the WORKDIR: the engine's builder makes it at WORKDIR, this build
    // only when the stage is sealed, so `WORKDIR /app` then `COPY a.txt .` must not make a file named /app.
    let destIsDir =
      rawDest.endsWith('/') || rawDest === '.' || rawDest.endsWith('/.') || (!!stage.config.WorkingDir && dest === path.posix.resolve('/', stage.config.WorkingDir)) || groups.reduce((n, g) => n + g.entries.length, 0) > 1;
    const container = stage.image ? await this.createContainer(stage.image, { Cmd: ['true'] }) : null;
    try {
      if (container && !destIsDir) destIsDir = (await statPath(this.deps.docker, container.id, dest, true))?.type === 'directory';
      const owner = ins.chown ? await this.owner(container, expandWord(ins.chown, vars)) : { uid: 0, gid: 0 };
      const items = groups.flatMap((g) => copyItems(g.ctx, g.entries, dest, destIsDir)).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      const tar = packItems(items, owner, ins.chmod);
      if (!container) return await this.importLayer(stage, tar);
      await container.putArchive(tar, { path: '/' });
      return await this.commit(container, stage);
    } finally {
      if (container) await this.remove(container);
    }
  }

  /** A scratch stage's first files: an image imported from their tar. */
  private async importLayer(stage: StageState, tar: Readable): Promise<number> {
    const changes = Object.entries(this.labels()).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
    const events = await readProgress(await this.deps.docker.importImage(tar as unknown as NodeJS.ReadableStream, { changes } as object));
    const id = events.map((e) => e.status ?? '').find((s) => /^sha256:[0-9a-f]{64}$/.test(s));
    if (!id) throw new Error('the engine did not say which image it imported');
    this.images.push(id);
    stage.image = id;
    stage.size = (await this.deps.docker.getImage(id).inspect()).Size;
    this.addWritten(stage.size);
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

/**
 * A tar of a built image as `docker save` writes it. Refused (rejects) for an image that is not one of this
 * installation's builds: nothing else on the engine is read this way.
 */
export async function exportBuildImage(docker: Docker, instance: string, ref: string): Promise<Readable> {
  const image = docker.getImage(ref);
  const labels = (await image.inspect()).Config?.Labels ?? {};
  if (labels[LABELS.instance] !== instance || labels[LABELS.role] !== BUILD_ROLE) throw new Error(`${ref} is not an image this installation built`);
  return (await image.get()) as unknown as Readable;
}
