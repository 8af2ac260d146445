import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import type { SandboxPolicyConfig } from '../../../hardening.js';
import { isGvisor } from '../../policy.js';
import { packFiles } from '../../../local-tar.js';
import { LABELS, ROLES } from '../../labels.js';
import type {
  SandboxChange,
  ExecOptions,
  ExecResult,
  ExecTerminalOptions,
  JobDriver,
  JobExecOptions,
  JobExecResult,
  JobSpec,
  PathStat,
  SandboxInfo,
  SandboxProcess,
  SandboxSpec,
  ShellLogEntry,
} from '../../sandbox-driver.js';
import type { TerminalSession } from '../../../terminal/terminal-session.js';
import { jobContainerSpec, jobLabels, sandboxContainerSpec, sandboxLabels, sandboxName } from './container-spec.js';
import { statusOf } from './errors.js';
import { watchEvents } from './events.js';
import { execBounded, execCapped } from './exec.js';
import { execTty } from './exec-terminal.js';
import { makeDirs, statPath } from './paths.js';
import { listProcesses } from './processes.js';
import { listChanges } from './changes.js';
import { buildImage, exportBuildImage, listBuildImages, removeBuildImage } from './image-build.js';
import type { ImageBuildResult, ImageBuildSpec } from '../../image-build-spec.js';
import { readShellLog } from './shell-log.js';
import { attachTty } from './terminal-session.js';

/** The engine's list of a sandbox's changes is read up to this many bytes (about 80,000 paths). */
const CHANGES_MAX_BYTES = 8 * 1024 * 1024;

export { MAX_PENDING_INPUT_BYTES } from './terminal-session.js';

const GVISOR_TMP_NOTE = 'Keeps /tmp on the sandbox filesystem under gVisor (opslab).\n';

export interface DockerDriverOptions {
  docker?: Docker;
  /** The installation id; every sandbox carries it so installations sharing an engine leave each other alone. */
  instance: string;
  policy: SandboxPolicyConfig;
  /** Extra labels (tests use them to find and clean up what they made). */
  extraLabels?: Record<string, string>;
}

export class DockerDriver implements JobDriver {
  readonly docker: Docker;
  private readonly instance: string;
  private readonly policy: SandboxPolicyConfig;
  private readonly extraLabels: Record<string, string>;

  constructor(opts: DockerDriverOptions) {
    this.docker = opts.docker ?? new Docker();
    this.instance = opts.instance;
    this.policy = opts.policy;
    this.extraLabels = opts.extraLabels ?? {};
  }

  async ping(): Promise<boolean> {
    try {
      await this.docker.ping();
      return true;
    } catch {
      return false;
    }
  }

  async create(spec: SandboxSpec): Promise<string> {
    const container = await this.docker.createContainer(
      sandboxContainerSpec({
        name: sandboxName(this.instance, spec),
        image: spec.image,
        env: spec.env,
        labels: sandboxLabels(this.instance, spec, this.extraLabels),
        limits: spec.limits,
        runtime: this.policy.runtime,
        capabilities: this.policy.capabilities,
      }),
    );
    if (isGvisor(this.policy.runtime)) {
      // gVisor mounts its own in-memory tmpfs over an empty /tmp, which hides what the platform copies into /tmp
      // through the engine (the exercise's setup files) and keeps it out of snapshots. A file in /tmp before the
      // first start keeps /tmp on the container's filesystem, as under runc.
      try {
        await container.putArchive(packFiles([{ name: '.opslab-keep', content: GVISOR_TMP_NOTE, mode: 0o644 }]), {
          path: '/tmp',
        });
      } catch (err) {
        await this.remove(container.id);
        throw err;
      }
    }
    return container.id;
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if (statusOf(err) === 304) return; // already running
      throw err;
    }
  }

  attachTerminal(id: string): Promise<TerminalSession> {
    return attachTty(this.docker, id);
  }

  execTerminal(id: string, opts: ExecTerminalOptions): Promise<TerminalSession> {
    return execTty(this.docker, id, opts);
  }

  exec(id: string, cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return execBounded(this.docker, id, cmd, opts);
  }

  statPath(id: string, path: string, opts: { follow?: boolean } = {}): Promise<PathStat | null> {
    return statPath(this.docker, id, path, opts.follow ?? false);
  }

  makeDirs(id: string, path: string): Promise<void> {
    return makeDirs(this.docker, id, path);
  }

  async copyIn(id: string, dir: string, tar: Readable): Promise<void> {
    await this.docker.getContainer(id).putArchive(tar, { path: dir });
  }

  async copyOut(id: string, path: string): Promise<Readable> {
    return (await this.docker.getContainer(id).getArchive({ path })) as unknown as Readable;
  }

  async inspect(id: string): Promise<SandboxInfo | null> {
    try {
      const info = await this.docker.getContainer(id).inspect();
      return toInfo(info.Id, info.Config.Labels ?? {}, info.State.Status, info.State.ExitCode, info.State.OOMKilled);
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  /**
   * Bytes written to the sandbox's writable layer (the engine's SizeRw). The engine walks the layer's directory
   * for this: about a millisecond for a fresh sandbox, about a second for 100,000 files.
   */
  shellLog(id: string, sinceMs: number): Promise<ShellLogEntry[]> {
    return readShellLog(this.docker, id, sinceMs);
  }

  async diskUsage(id: string): Promise<{ bytes: number; running: boolean } | null> {
    try {
      // `size` is a query parameter of the inspect call that the typings leave out.
      const options = { size: true } as Docker.ContainerInspectOptions;
      const info: Docker.ContainerInspectInfo & { SizeRw?: number } = await this.docker.getContainer(id).inspect(options);
      return { bytes: info.SizeRw ?? 0, running: info.State.Running };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  watchOom(listener: (sandboxId: string) => void): () => void {
    const filters = {
      type: ['container'],
      event: ['oom'],
      label: [`${LABELS.managed}=true`, `${LABELS.instance}=${this.instance}`],
    };
    return watchEvents(this.docker, filters, (event) => {
      if (event.Action === 'oom' && event.Actor?.ID) listener(event.Actor.ID);
    });
  }

  async stop(id: string, timeoutSeconds = 5): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSeconds });
    } catch (err) {
      const status = statusOf(err);
      if (status === 304 || status === 404) return;
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const status = statusOf(err);
      // 404: already gone. 409: removal already in progress.
      if (status === 404 || status === 409) return;
      throw err;
    }
  }

  async createJob(spec: JobSpec): Promise<string> {
    const container = await this.docker.createContainer(
      jobContainerSpec(spec, {
        name: `opslab-${this.instance}-${spec.role}-${randomBytes(6).toString('hex')}`,
        labels: jobLabels(this.instance, spec, this.extraLabels),
        runtime: this.policy.runtime,
        capabilities: this.policy.capabilities,
      }),
    );
    if (spec.start === false) return container.id;
    try {
      await container.start();
    } catch (err) {
      await this.remove(container.id);
      throw err;
    }
    return container.id;
  }

  processes(id: string): Promise<SandboxProcess[]> {
    return listProcesses(this.docker, id);
  }

  changes(id: string, opts: { maxBytes?: number; timeoutMs?: number } = {}): Promise<{ changes: SandboxChange[]; truncated: boolean }> {
    return listChanges(this.docker, id, { maxBytes: opts.maxBytes ?? CHANGES_MAX_BYTES, timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  execJob(id: string, cmd: string[], opts: JobExecOptions): Promise<JobExecResult> {
    return execCapped(this.docker, id, cmd, opts);
  }

  async listJobs(): Promise<{ id: string; role: string; ageSeconds: number }[]> {
    const list = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.instance}=${this.instance}`, `${LABELS.role}`] },
    });
    const now = Date.now() / 1000;
    return list
      .filter((c) => c.Labels[LABELS.role] !== ROLES.sandbox)
      .map((c) => ({ id: c.Id, role: c.Labels[LABELS.role] ?? '', ageSeconds: Math.max(0, Math.round(now - c.Created)) }));
  }

  buildImage(spec: ImageBuildSpec): Promise<ImageBuildResult> {
    const { docker, instance, extraLabels } = this;
    return buildImage({ docker, instance, extraLabels, runtime: this.policy.runtime, capabilities: this.policy.capabilities }, spec);
  }

  removeImage(ref: string): Promise<void> {
    return removeBuildImage(this.docker, ref);
  }

  listBuildImages(): Promise<{ id: string; ageSeconds: number }[]> {
    return listBuildImages(this.docker, this.instance);
  }

  exportImage(ref: string): Promise<Readable> {
    return exportBuildImage(this.docker, this.instance, ref);
  }

  async imageLayers(ref: string): Promise<string[] | null> {
    try {
      return (await this.docker.getImage(ref).inspect()).RootFS?.Layers ?? [];
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async listManaged(): Promise<SandboxInfo[]> {
    const list = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.managed}=true`, `${LABELS.instance}=${this.instance}`] },
    });
    return list.map((c) => toInfo(c.Id, c.Labels ?? {}, c.State, null, false));
  }
}

function toInfo(
  id: string,
  labels: Record<string, string>,
  status: string,
  exitCode: number | null,
  oomKilled: boolean,
): SandboxInfo {
  const runState = status === 'running' ? 'running' : status === 'created' ? 'created' : status === 'exited' || status === 'dead' ? 'exited' : 'other';
  return {
    id,
    attemptId: labels[LABELS.attempt] ?? null,
    exerciseId: labels[LABELS.exercise] ?? null,
    runState,
    exitCode,
    oomKilled,
    labels,
  };
}
