// The image builders' engine operations on Docker: inspect, pull, import, build, remove, one-shot runs.
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { pack } from 'tar-fs';
import type { ImageBuildOptions, ImageEngine, ImageInfo, OneShotResult } from '../../image-engine.js';
import { statusOf } from './errors.js';

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

/** `repo:tag` split at the tag's colon (a registry's port is no tag); `latest` when there is none. */
export function splitTag(ref: string): [string, string] {
  const i = ref.lastIndexOf(':');
  return i > ref.lastIndexOf('/') ? [ref.slice(0, i), ref.slice(i + 1)] : [ref, 'latest'];
}

export class DockerImageEngine implements ImageEngine {
  readonly docker: Docker;

  constructor(docker?: Docker) {
    this.docker = docker ?? new Docker();
  }

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      return {
        id: info.Id,
        labels: info.Config?.Labels ?? {},
        tags: (info.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async pullImage(ref: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const stream = await this.docker.pull(ref, opts.signal ? { abortSignal: opts.signal } : {});
    await readProgress(stream);
  }

  /** POST /images/create?fromSrc=- with the tar as the body. */
  async importImage(rootfsTar: Readable, ref: string, changes: string[]): Promise<void> {
    const [repo, tag] = splitTag(ref);
    const stream = await this.docker.importImage(rootfsTar, { repo, tag, changes });
    await readProgress(stream);
  }

  async buildImage(contextDir: string, opts: ImageBuildOptions): Promise<string> {
    const context = pack(contextDir);
    const stream = await this.docker.buildImage(context as unknown as NodeJS.ReadableStream, {
      t: opts.tag,
      dockerfile: opts.dockerfile,
      networkmode: 'host',
      rm: true,
      forcerm: true,
      labels: opts.labels,
    });
    let imageId = '';
    await readProgress(stream, (e) => {
      if (e.aux?.ID) imageId = e.aux.ID;
      for (const raw of (e.stream ?? '').split('\n')) {
        const line = raw.trimEnd();
        if (!line) continue;
        opts.onOutput(line);
        const m = /^Successfully built ([0-9a-f]+)/.exec(line);
        if (m && !imageId) imageId = m[1]!;
      }
    });
    return imageId;
  }

  async removeImage(ref: string): Promise<void> {
    await this.docker.getImage(ref).remove();
  }

  async runOnce(
    image: string,
    cmd: string[],
    opts: { networkMode?: string; timeoutMs?: number } = {},
  ): Promise<OneShotResult> {
    const container = await this.docker.createContainer({
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
}
