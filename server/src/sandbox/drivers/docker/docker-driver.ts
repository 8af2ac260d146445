import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import type { SandboxPolicyConfig } from '../../../hardening.js';
import { CAPABILITY_ALLOWLIST, isGvisor, LOG_MAX_SIZE, processLimits } from '../../policy.js';
import { packFiles } from '../../../local-tar.js';
import { LABELS, ROLES } from '../../labels.js';
import type {
  ExecResult,
  JobDriver,
  JobExecOptions,
  JobExecResult,
  JobSpec,
  SandboxInfo,
  SandboxProcess,
  SandboxSpec,
} from '../../sandbox-driver.js';
import type { TerminalSession } from '../../../terminal/terminal-session.js';

interface DockerApiError {
  statusCode?: number;
  message?: string;
}

function statusOf(err: unknown): number | undefined {
  return (err as DockerApiError | null)?.statusCode;
}

const GVISOR_TMP_NOTE = 'Keeps /tmp on the sandbox filesystem under gVisor (opslab).\n';

/** The grader image's unprivileged user (graders/Dockerfile). */
const GRADER_USER = '10001:10001';

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
    const env = { TERM: 'xterm-256color', LANG: 'C.UTF-8', ...spec.env };
    // Under gVisor the process limit is RLIMIT_NPROC inside the Sentry, the pids cgroup a backstop (see policy.ts).
    const processes = processLimits(this.policy.runtime, spec.limits.pids);
    const container = await this.docker.createContainer({
      name: spec.pool
        ? `opslab-${this.instance}-pool-${spec.pool}`
        : `opslab-${this.instance}-${spec.attemptId}${spec.generation ? `-${spec.generation}` : ''}`,
      Image: spec.image,
      Hostname: 'sandbox',
      Tty: true,
      OpenStdin: true,
      StdinOnce: false,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: {
        ...this.extraLabels,
        [LABELS.managed]: 'true',
        [LABELS.instance]: this.instance,
        ...(spec.pool ? { [LABELS.pool]: spec.pool } : { [LABELS.attempt]: spec.attemptId }),
        [LABELS.exercise]: spec.exerciseId,
        [LABELS.role]: ROLES.sandbox,
      },
      NetworkDisabled: false,
      HostConfig: {
        // No network at all: the candidate talks to the sandbox only through the engine's API.
        NetworkMode: 'none',
        // Its own cgroup namespace (cgroup v1 engines default to the host's): /proc/self/cgroup shows no host paths.
        ...({ CgroupnsMode: 'private' } as object),
        CapDrop: ['ALL'],
        CapAdd: [...this.policy.capabilities],
        // No seccomp option: the engine's default profile applies (never seccomp=unconfined).
        SecurityOpt: ['no-new-privileges:true'],
        Privileged: false,
        Memory: spec.limits.memoryMb * 1024 * 1024,
        // Equal to Memory: no swap beyond the memory limit.
        MemorySwap: spec.limits.memoryMb * 1024 * 1024,
        NanoCpus: Math.round(spec.limits.cpus * 1e9),
        PidsLimit: processes.pidsLimit,
        Ulimits: [
          { Name: 'nofile', Soft: 4096, Hard: 4096 },
          ...(processes.nproc !== null ? [{ Name: 'nproc', Soft: processes.nproc, Hard: processes.nproc }] : []),
        ],
        LogConfig: { Type: 'json-file', Config: { 'max-size': LOG_MAX_SIZE, 'max-file': '1' } },
        Init: true,
        RestartPolicy: { Name: 'no' },
        AutoRemove: false,
        ...(this.policy.runtime !== 'runc' ? { Runtime: this.policy.runtime } : {}),
      },
    });
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

  async attachTerminal(id: string): Promise<TerminalSession> {
    const container = this.docker.getContainer(id);
    const stream = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as unknown as Duplex;
    return new DockerTerminalSession(container, stream);
  }

  async exec(
    id: string,
    cmd: string[],
    opts: { timeoutMs?: number; env?: Record<string, string> } = {},
  ): Promise<ExecResult> {
    const container = this.docker.getContainer(id);
    const exec = await container.exec({
      Cmd: cmd,
      AttachStdout: true,
      AttachStderr: true,
      Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on('data', (c: Buffer) => out.push(c));
    stderr.on('data', (c: Buffer) => err.push(c));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.destroy();
        reject(new Error(`exec ${JSON.stringify(cmd)} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      stream.on('end', () => {
        clearTimeout(timer);
        resolve();
      });
      stream.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      stream.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const info = await exec.inspect();
    return {
      exitCode: info.ExitCode ?? -1,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
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
    let stopped = false;
    let stream: NodeJS.ReadableStream | null = null;
    let retry: NodeJS.Timeout | null = null;
    const connect = async () => {
      if (stopped) return;
      try {
        stream = await this.docker.getEvents({
          filters: {
            type: ['container'],
            event: ['oom'],
            label: [`${LABELS.managed}=true`, `${LABELS.instance}=${this.instance}`],
          },
        });
      } catch {
        return again();
      }
      if (stopped) return (stream as unknown as { destroy(): void }).destroy();
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          try {
            const event = JSON.parse(line) as { Action?: string; Actor?: { ID?: string } };
            if (event.Action === 'oom' && event.Actor?.ID) listener(event.Actor.ID);
          } catch {
            /* not an event */
          }
        }
      });
      stream.on('error', () => undefined);
      stream.on('close', again);
      stream.on('end', again);
    };
    // The engine restarted or the connection dropped: watch again a little later.
    const again = () => {
      if (stopped || retry) return;
      stream = null;
      retry = setTimeout(() => {
        retry = null;
        void connect();
      }, 2000);
      retry.unref();
    };
    void connect();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      (stream as unknown as { destroy?(): void } | null)?.destroy?.();
    };
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
    const limits = spec.limits;
    const sandboxHardening = spec.hardening === 'sandbox';
    const container = await this.docker.createContainer({
      name: `opslab-${this.instance}-${spec.role}-${randomBytes(6).toString('hex')}`,
      Image: spec.image,
      Hostname: spec.joinSandbox ? undefined : spec.role,
      // The main process only idles; the work is done through exec, so output and timeouts are per command.
      Entrypoint: [],
      Cmd: ['sleep', 'infinity'],
      Tty: false,
      OpenStdin: false,
      // The grader runs as its unprivileged user from the first process on (see graders/Dockerfile).
      ...(sandboxHardening ? {} : { User: GRADER_USER }),
      Env: ['LANG=C.UTF-8', 'LC_ALL=C.UTF-8'],
      Labels: {
        ...this.extraLabels,
        ...spec.labels,
        // Deliberately not LABELS.managed: job containers are no attempt's sandbox, so the reconciler leaves them
        // alone while they work; listJobs() finds the ones a dead server left behind.
        [LABELS.instance]: this.instance,
        [LABELS.role]: spec.role,
        ...(spec.attemptId ? { [LABELS.attempt]: spec.attemptId } : {}),
        ...(spec.exerciseId ? { [LABELS.exercise]: spec.exerciseId } : {}),
      },
      NetworkDisabled: false,
      HostConfig: {
        // A probe joins the sandbox's network namespace only. Never its process namespace: the candidate is root
        // there (with CAP_KILL) and could signal every grader process; checks get the sandbox's process list
        // from the engine instead (processes()).
        NetworkMode: spec.joinSandbox ? `container:${spec.joinSandbox}` : 'none',
        CapDrop: ['ALL'],
        ...(sandboxHardening ? { CapAdd: [...CAPABILITY_ALLOWLIST] } : {}),
        SecurityOpt: ['no-new-privileges:true'],
        Privileged: false,
        Memory: limits.memoryMb * 1024 * 1024,
        MemorySwap: limits.memoryMb * 1024 * 1024,
        NanoCpus: Math.round(limits.cpus * 1e9),
        PidsLimit: limits.pids,
        Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
        LogConfig: { Type: 'json-file', Config: { 'max-size': LOG_MAX_SIZE, 'max-file': '1' } },
        // The grader's only long-lived process is its idle `sleep`; it needs no init.
        Init: sandboxHardening,
        RestartPolicy: { Name: 'no' },
        AutoRemove: false,
        ...(sandboxHardening && this.policy.runtime !== 'runc' ? { Runtime: this.policy.runtime } : {}),
      },
    });
    if (spec.start === false) return container.id;
    try {
      await container.start();
    } catch (err) {
      await this.remove(container.id);
      throw err;
    }
    return container.id;
  }

  async processes(id: string): Promise<SandboxProcess[]> {
    let top: { Titles?: string[]; Processes?: string[][] };
    try {
      // The engine lists a container's processes by running ps on its host for the container's process ids. Under
      // another runtime than runc (gVisor's runsc) those are the ids inside the sandbox's own kernel, and the list
      // would name whatever host processes have the same ids: refuse rather than mislead a check.
      const runtime = (await this.docker.getContainer(id).inspect()).HostConfig?.Runtime ?? 'runc';
      if (runtime !== 'runc' && runtime !== '') {
        throw new Error(`the engine cannot list the processes of a sandbox under the ${runtime} runtime`);
      }
      // The engine runs ps on its host for the container's processes: nothing runs inside the sandbox.
      top = (await this.docker.getContainer(id).top({ ps_args: '-o pid,ppid,uid,stat,args' })) as typeof top;
    } catch (err) {
      // 409: not running; 404: gone. Either way no process runs there.
      const status = statusOf(err);
      if (status === 409 || status === 404) return [];
      throw err;
    }
    const titles = (top.Titles ?? []).map((t) => t.toUpperCase());
    const col = (name: string) => titles.indexOf(name);
    const [pid, ppid, uid, stat] = [col('PID'), col('PPID'), col('UID'), col('STAT')];
    const args = titles.length - 1;
    return (top.Processes ?? []).map((row) => ({
      pid: Number(row[pid]),
      ppid: Number(row[ppid]),
      uid: Number(row[uid]),
      stat: row[stat] ?? '',
      args: (row[args] ?? '').replace(/\s+/g, ' ').trim(),
    }));
  }

  async execJob(id: string, cmd: string[], opts: JobExecOptions): Promise<JobExecResult> {
    const container = this.docker.getContainer(id);
    const exec = await container.exec({
      Cmd: cmd,
      AttachStdout: true,
      AttachStderr: true,
      ...(opts.user ? { User: opts.user } : {}),
      ...(opts.workdir ? { WorkingDir: opts.workdir } : {}),
      Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const headLimit = opts.maxOutputBytes;
    const tailLimit = opts.tailBytes ?? 0;
    const collect = () => {
      const head: Buffer[] = [];
      let headSize = 0;
      let tail: Buffer[] = [];
      let tailSize = 0;
      let total = 0;
      const sink = new PassThrough();
      sink.on('data', (c: Buffer) => {
        total += c.length;
        if (headSize < headLimit) {
          const part = c.subarray(0, headLimit - headSize);
          head.push(part);
          headSize += part.length;
          c = c.subarray(part.length);
        }
        if (c.length === 0 || tailLimit === 0) return;
        tail.push(c);
        tailSize += c.length;
        // Drop whole chunks from the front while the rest still covers the tail.
        while (tail.length > 1 && tailSize - tail[0]!.length >= tailLimit) tailSize -= tail.shift()!.length;
        if (tail.length > 64) {
          const joined = Buffer.concat(tail);
          tail = [joined.subarray(Math.max(0, joined.length - tailLimit))];
          tailSize = tail[0]!.length;
        }
      });
      const text = () => {
        let t = Buffer.concat(tail);
        if (t.length > tailLimit) t = t.subarray(t.length - tailLimit);
        const omitted = total - headSize - t.length;
        const parts = [Buffer.concat(head)];
        if (omitted > 0 && tailLimit > 0) parts.push(Buffer.from(`\n[opslab] ${omitted} bytes of output left out here\n`));
        parts.push(t);
        return Buffer.concat(parts).toString('utf8');
      };
      return { sink, text, over: () => total > headSize + Math.min(tailSize, tailLimit) };
    };
    const out = collect();
    const err = collect();
    this.docker.modem.demuxStream(stream, out.sink, err.sink);
    const timedOut = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        stream.destroy();
        resolve(true);
      }, opts.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(false);
      };
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
    });
    let exitCode: number | null = null;
    if (!timedOut) {
      const info = await exec.inspect();
      exitCode = info.Running ? null : (info.ExitCode ?? null);
    }
    return {
      exitCode,
      stdout: out.text(),
      stderr: err.text(),
      timedOut,
      truncated: out.over() || err.over(),
    };
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

/** Input waiting for the engine to take it, per shell, beyond which further input is dropped. */
export const MAX_PENDING_INPUT_BYTES = 1024 * 1024;

class DockerTerminalSession implements TerminalSession {
  readonly ended: Promise<void>;
  private closed = false;

  constructor(
    private readonly container: Docker.Container,
    private readonly stream: Duplex,
  ) {
    this.ended = new Promise((resolve) => {
      const done = () => resolve();
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', done);
    });
    // A TTY attach stream is raw (not multiplexed): bytes are the terminal's output as-is.
    stream.on('error', () => {
      /* surfaced through `ended` */
    });
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    this.stream.on('data', listener);
    return () => this.stream.off('data', listener);
  }

  write(data: Buffer | string): void {
    if (this.closed || this.stream.destroyed || !this.stream.writable) return;
    // A program that does not read its input (a raw-mode TTY nobody reads) stops the engine from taking more;
    // what is written then waits here, in the server's memory, and the browser's rate limit (256 KiB/s) alone
    // would let that grow for as long as the attempt lasts. Input beyond this much waiting is dropped, as a full
    // terminal would.
    if (this.stream.writableLength > MAX_PENDING_INPUT_BYTES) return;
    this.stream.write(data);
  }

  async resize(cols: number, rows: number): Promise<void> {
    try {
      await this.container.resize({ h: rows, w: cols });
    } catch (err) {
      // A stopped container cannot be resized; nothing to do.
      if (statusOf(err) === 409 || statusOf(err) === 404) return;
      throw err;
    }
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.destroy();
  }
}
