// Commands run in a container through the engine's exec API, with their output collected (whole, or capped).
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { ExecResult, JobExecOptions, JobExecResult } from '../../sandbox-driver.js';

const envList = (env: Record<string, string> = {}) => Object.entries(env).map(([k, v]) => `${k}=${v}`);

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
    if (this.tail.length > 64) {
      const joined = Buffer.concat(this.tail);
      this.tail = [joined.subarray(Math.max(0, joined.length - tailLimit))];
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
}

/** Runs `cmd` in the container and keeps all of its output; rejects when it takes longer than `timeoutMs`. */
export async function execAll(
  docker: Docker,
  id: string,
  cmd: string[],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ExecResult> {
  const exec = await docker.getContainer(id).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    Env: envList(opts.env),
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  docker.modem.demuxStream(stream, stdout, stderr);
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

/**
 * Runs `cmd` as `opts.user` in `opts.workdir`, keeping each stream's output within the caps; after `timeoutMs`
 * the command is abandoned and the result says so (timedOut, no exit code).
 */
export async function execCapped(docker: Docker, id: string, cmd: string[], opts: JobExecOptions): Promise<JobExecResult> {
  const exec = await docker.getContainer(id).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    ...(opts.user ? { User: opts.user } : {}),
    ...(opts.workdir ? { WorkingDir: opts.workdir } : {}),
    Env: envList(opts.env),
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new CappedOutput(opts.maxOutputBytes, opts.tailBytes ?? 0);
  const err = new CappedOutput(opts.maxOutputBytes, opts.tailBytes ?? 0);
  docker.modem.demuxStream(stream, out.sink, err.sink);
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
