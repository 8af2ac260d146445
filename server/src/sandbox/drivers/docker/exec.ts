// Commands run in a container through the engine's exec API, their output always capped and their time bounded.
import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { ExecLimitError, type ExecOptions, type ExecResult, type JobExecOptions, type JobExecResult } from '../../sandbox-driver.js';

const envList = (env: Record<string, string> = {}) => Object.entries(env).map(([k, v]) => `${k}=${v}`);

/** What `exec` keeps and reads when the caller says nothing: the program's output is the sandbox's, not ours. */
export const EXEC_DEFAULTS = {
  timeoutMs: 60_000,
  maxOutputBytes: 1024 * 1024,
  tailBytes: 64 * 1024,
  maxReadBytes: 64 * 1024 * 1024,
} as const;

/**
 * One output stream kept up to `headLimit` bytes from its start and `tailLimit` bytes from its end; what lies
 * between is read and dropped, and replaced by a line saying how much was left out.
 */
export class CappedOutput {
  readonly sink = new PassThrough();
  private readonly head: Buffer[] = [];
  private headSize = 0;
  private tail: Buffer[] = [];
  private tailSize = 0;
  private total = 0;

  constructor(
    private readonly headLimit: number,
    private readonly tailLimit = 0,
  ) {
    this.sink.on('data', (c: Buffer) => this.push(c));
  }

  push(c: Buffer): void {
    const { headLimit, tailLimit } = this;
    this.total += c.length;
    if (this.headSize < headLimit) {
      const part = c.subarray(0, headLimit - this.headSize);
      this.head.push(part);
      this.headSize += part.length;
      c = c.subarray(part.length);
    }
    if (c.length === 0 || tailLimit === 0) return;
    this.tail.push(c);
    this.tailSize += c.length;
    // Drop whole chunks from the front while the rest still covers the tail.
    while (this.tail.length > 1 && this.tailSize - this.tail[0]!.length >= tailLimit) this.tailSize -= this.tail.shift()!.length;
    if (this.tail.length > 64 || this.tailSize > 2 * tailLimit) {
      const joined = Buffer.concat(this.tail);
      this.tail = [Buffer.from(joined.subarray(Math.max(0, joined.length - tailLimit)))];
      this.tailSize = this.tail[0]!.length;
    }
  }

  text(): string {
    let t = Buffer.concat(this.tail);
    if (t.length > this.tailLimit) t = t.subarray(t.length - this.tailLimit);
    const omitted = this.total - this.headSize - t.length;
    const parts = [Buffer.concat(this.head)];
    if (omitted > 0 && this.tailLimit > 0) parts.push(Buffer.from(`\n[opslab] ${omitted} bytes of output left out here\n`));
    parts.push(t);
    return Buffer.concat(parts).toString('utf8');
  }

  /** Whether anything was left out. */
  over(): boolean {
    return this.total > this.headSize + Math.min(this.tailSize, this.tailLimit);
  }

  /** Bytes kept in memory (head and tail). */
  held(): number {
    return this.headSize + this.tailSize;
  }
}

/**
 * Splits the engine's multiplexed exec stream (8-byte headers: stream type, then payload length) into stdout and
 * stderr as the bytes come, without holding a frame whole: a frame's length is read from the stream, not trusted.
 */
export class ExecDemuxer {
  private readonly header = Buffer.alloc(8);
  private headerFill = 0;
  private remaining = 0;
  private target: ((c: Buffer) => void) | null = null;

  constructor(
    private readonly stdout: (c: Buffer) => void,
    private readonly stderr: (c: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining === 0) {
        const n = Math.min(8 - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + n);
        this.headerFill += n;
        at += n;
        if (this.headerFill < 8) return;
        this.headerFill = 0;
        const type = this.header.readUInt8(0);
        this.remaining = this.header.readUInt32BE(4);
        this.target = type === 2 ? this.stderr : type === 1 ? this.stdout : null;
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - at);
      if (this.target) this.target(chunk.subarray(at, at + n));
      this.remaining -= n;
      at += n;
    }
  }
}

type Ending = 'exit' | 'timeout' | 'output';

interface RunOptions {
  user?: string;
  workdir?: string;
  env?: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
  tailBytes: number;
  /** Reading stops (the stream destroyed) once this many bytes came; none: read and drop until the end. */
  maxReadBytes?: number;
}

interface RunOutcome {
  ending: Ending;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  readBytes: number;
}

/**
 * Runs `cmd` in the container, keeping each stream's head and tail within the caps. The exec's stream is destroyed
 * when `timeoutMs` passes or more than `maxReadBytes` came, whichever is first: a program that writes forever is
 * cut off, not just ignored. (The engine has no way to kill an exec's process: a writer left behind blocks on its
 * full pipe until it ends or the sandbox stops.)
 */
async function runExec(docker: Docker, id: string, cmd: string[], o: RunOptions): Promise<RunOutcome> {
  const out = new CappedOutput(o.maxOutputBytes, o.tailBytes);
  const err = new CappedOutput(o.maxOutputBytes, o.tailBytes);
  const demux = new ExecDemuxer(
    (c) => out.push(c),
    (c) => err.push(c),
  );
  let readBytes = 0;
  let stream: Duplex | null = null;
  let ending: Ending | null = null;
  let finish!: (e: Ending) => void;
  let fail!: (e: unknown) => void;
  const ended = new Promise<Ending>((resolve, reject) => {
    finish = (e) => {
      if (ending) return;
      ending = e;
      clearTimeout(timer);
      if (e !== 'exit') stream?.destroy();
      resolve(e);
    };
    fail = (e) => {
      if (ending) return;
      ending = 'exit';
      clearTimeout(timer);
      stream?.destroy();
      reject(e);
    };
  });
  // Started before the exec is even created: an engine that does not answer counts against the same time.
  const timer = setTimeout(() => finish('timeout'), o.timeoutMs);
  const starting = (async () => {
    const e = await docker.getContainer(id).exec({
      Cmd: cmd,
      AttachStdout: true,
      AttachStderr: true,
      ...(o.user ? { User: o.user } : {}),
      ...(o.workdir ? { WorkingDir: o.workdir } : {}),
      Env: envList(o.env),
    });
    const s = (await e.start({ hijack: true, stdin: false })) as Duplex;
    stream = s;
    if (ending) {
      s.destroy();
      return e;
    }
    s.on('data', (c: Buffer) => {
      if (ending) return;
      readBytes += c.length;
      demux.push(c);
      if (o.maxReadBytes !== undefined && readBytes > o.maxReadBytes) finish('output');
    });
    s.on('end', () => finish('exit'));
    s.on('close', () => finish('exit'));
    s.on('error', (e) => fail(e));
    return e;
  })().catch((e: unknown) => {
    fail(e);
    return null;
  });
  // Not awaited before `ended`: an engine that never answers the exec's creation still meets the timeout.
  const ending_ = await ended;
  let exitCode: number | null = null;
  const exec = ending_ === 'exit' ? await starting : null;
  if (exec) {
    const info = await exec.inspect();
    exitCode = info.Running ? null : (info.ExitCode ?? null);
  }
  return {
    ending: ending_,
    exitCode,
    stdout: out.text(),
    stderr: err.text(),
    truncated: ending_ === 'output' || out.over() || err.over(),
    readBytes,
  };
}

/**
 * Runs `cmd` in the container with the platform's caps on what is kept and read (`EXEC_DEFAULTS` unless given).
 * Rejects with an ExecLimitError (carrying what was kept) when the time or the read limit is reached first.
 */
export async function execBounded(docker: Docker, id: string, cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? EXEC_DEFAULTS.timeoutMs;
  const maxReadBytes = opts.maxReadBytes ?? EXEC_DEFAULTS.maxReadBytes;
  const r = await runExec(docker, id, cmd, {
    env: opts.env,
    timeoutMs,
    maxOutputBytes: opts.maxOutputBytes ?? EXEC_DEFAULTS.maxOutputBytes,
    tailBytes: opts.tailBytes ?? EXEC_DEFAULTS.tailBytes,
    maxReadBytes,
  });
  const what = `exec ${JSON.stringify(cmd[0])}`;
  if (r.ending === 'timeout') {
    throw new ExecLimitError(`${what} timed out after ${timeoutMs} ms`, 'timeout', r.stdout, r.stderr);
  }
  if (r.ending === 'output') {
    throw new ExecLimitError(`${what} wrote more than ${maxReadBytes} bytes: stopped reading`, 'output', r.stdout, r.stderr);
  }
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, truncated: r.truncated };
}

/**
 * Runs `cmd` as `opts.user` in `opts.workdir`, keeping each stream's output within the caps; after `timeoutMs`
 * the command is abandoned and the result says so (timedOut, no exit code).
 */
export async function execCapped(docker: Docker, id: string, cmd: string[], opts: JobExecOptions): Promise<JobExecResult> {
  const r = await runExec(docker, id, cmd, {
    user: opts.user,
    workdir: opts.workdir,
    env: opts.env,
    timeoutMs: opts.timeoutMs,
    maxOutputBytes: opts.maxOutputBytes,
    tailBytes: opts.tailBytes ?? 0,
    maxReadBytes: opts.maxReadBytes,
  });
  return {
    exitCode: r.ending === 'exit' ? r.exitCode : null,
    stdout: r.stdout,
    stderr: r.stderr,
    timedOut: r.ending === 'timeout',
    truncated: r.truncated,
  };
}
