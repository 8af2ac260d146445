// Small dockerode helpers shared by the image builders.
import type Dockerode from 'dockerode';
import { pack } from 'tar-fs';

export type Log = (line: string) => void;

export interface ImageInfo {
  id: string;
  labels: Record<string, string>;
}

/** Inspect an image by tag or id; null when the engine does not have it. */
export async function inspectImage(docker: Dockerode, ref: string): Promise<ImageInfo | null> {
  try {
    const info = await docker.getImage(ref).inspect();
    return { id: info.Id, labels: info.Config?.Labels ?? {} };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

export interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/**
 * Read a JSON-lines progress stream (build, pull, import) to its end. Each event goes to
 * `onEvent`; the promise rejects with the engine's own message on an error event.
 */
export function readProgress(
  stream: NodeJS.ReadableStream,
  onEvent: (e: ProgressEvent) => void = () => {},
): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    const events: ProgressEvent[] = [];
    let buf = '';
    let failed: Error | null = null;
    const handle = (line: string) => {
      const t = line.trim();
      if (!t) return;
      let e: ProgressEvent;
      try {
        e = JSON.parse(t) as ProgressEvent;
      } catch {
        e = { stream: `${t}\n` };
      }
      events.push(e);
      if (e.error || e.errorDetail?.message) failed ??= new Error(e.errorDetail?.message || e.error);
      onEvent(e);
    };
    stream.on('data', (chunk: Buffer | string) => {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        handle(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    stream.on('error', (err: Error) => reject(failed ?? err));
    stream.on('end', () => {
      handle(buf);
      if (failed) reject(failed);
      else resolve(events);
    });
  });
}

/**
 * `docker build` of a directory with host networking (so that apt-get reaches the mirror).
 * Only the step lines go to `log`; a failure carries the engine's error and the last lines of output.
 */
export async function buildImageFromDir(
  docker: Dockerode,
  dir: string,
  tag: string,
  opts: { log: Log; labels?: Record<string, string>; dockerfile?: string },
): Promise<string> {
  const tail: string[] = [];
  const context = pack(dir);
  const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
    t: tag,
    dockerfile: opts.dockerfile ?? 'Dockerfile',
    networkmode: 'host',
    rm: true,
    forcerm: true,
    labels: opts.labels ?? {},
  });
  let imageId = '';
  try {
    await readProgress(stream, (e) => {
      if (e.aux?.ID) imageId = e.aux.ID;
      for (const raw of (e.stream ?? '').split('\n')) {
        const line = raw.trimEnd();
        if (!line) continue;
        tail.push(line);
        if (tail.length > 25) tail.shift();
        if (/^Step \d+\/\d+ : /.test(line)) opts.log(`  ${shorten(line)}`);
        const m = /^Successfully built ([0-9a-f]+)/.exec(line);
        if (m && !imageId) imageId = m[1]!;
      }
    });
  } catch (err) {
    const detail = tail.length ? `\n--- last build output ---\n${tail.join('\n')}` : '';
    throw new Error(`building ${tag} failed: ${(err as Error).message}${detail}`);
  }
  const info = await inspectImage(docker, tag);
  if (!info) throw new Error(`building ${tag} finished but the engine has no such image`);
  return info.id || imageId;
}

export interface RunResult {
  exitCode: number;
  output: string;
}

/** Run a one-shot container to completion and remove it. */
export async function runOnce(
  docker: Dockerode,
  image: string,
  cmd: string[],
  opts: { networkMode?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    Tty: true, // one output stream, no multiplexing headers
    HostConfig: { NetworkMode: opts.networkMode ?? 'none' },
    Labels: { 'opslab.image-check': 'true' },
  });
  try {
    await container.start();
    const timeout = opts.timeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      container.wait() as Promise<{ StatusCode: number }>,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${cmd.join(' ')} in ${image} took over ${timeout} ms`)), timeout);
      }),
    ]).finally(() => clearTimeout(timer));
    const logs = await container.logs({ stdout: true, stderr: true, follow: false });
    return { exitCode: waited.StatusCode, output: logs.toString('utf8') };
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/** Remove an image that a rebuild left without a tag; keep it when it is still in use. */
export async function removeIfUntagged(docker: Dockerode, id: string): Promise<void> {
  try {
    const info = await docker.getImage(id).inspect();
    if ((info.RepoTags ?? []).filter((t) => t !== '<none>:<none>').length > 0) return;
    await docker.getImage(id).remove();
  } catch {
    // in use by a container, or already gone: leave it
  }
}

function shorten(line: string): string {
  const one = line.replace(/\s+/g, ' ');
  return one.length > 140 ? `${one.slice(0, 137)}...` : one;
}
