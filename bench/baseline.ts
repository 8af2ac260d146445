// The baselines: dockerode straight on the engine, the same image and the same hardening flags as opslab's driver.
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import { CAPABILITY_ALLOWLIST, LOG_MAX_SIZE } from '../server/src/sandbox/policy.js';
import type { ResourceLimits } from '../server/src/sandbox/sandbox-driver.js';
import { atPrompt, Output, type Shell } from './client.js';
import { BENCH_LABEL } from './protocol.js';

export function hardenedContainer(image: string, limits: ResourceLimits): Docker.ContainerCreateOptions {
  const memory = limits.memoryMb * 1024 * 1024;
  return {
    Image: image, // CMD ["bash", "-l"]
    Hostname: 'sandbox',
    Tty: true,
    OpenStdin: true,
    StdinOnce: false,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Env: ['TERM=xterm-256color', 'LANG=C.UTF-8'],
    Labels: { [BENCH_LABEL]: 'true' },
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      CapAdd: [...CAPABILITY_ALLOWLIST],
      SecurityOpt: ['no-new-privileges:true'],
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pids,
      Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
      LogConfig: { Type: 'json-file', Config: { 'max-size': LOG_MAX_SIZE, 'max-file': '1' } },
      Init: true,
    },
  };
}

export class Baseline {
  private readonly containers = new Set<Docker.Container>();

  constructor(
    private readonly docker: Docker,
    private readonly image: string,
    private readonly limits: ResourceLimits,
  ) {}

  /** create + attach + start until the prompt, on the container's own TTY (`bash -l`). */
  async attached(): Promise<{ shell: Shell; container: Docker.Container; ms: { first: number; prompt: number } }> {
    const out = new Output();
    const prompt = out.next(atPrompt, 'baseline prompt', 60_000);
    const t0 = performance.now();
    const container = await this.docker.createContainer(hardenedContainer(this.image, this.limits));
    this.containers.add(container);
    const options = { stream: true, stdin: true, stdout: true, stderr: true, hijack: true };
    const stream = (await container.attach(options)) as Duplex;
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    stream.on('close', () => out.end('the attach stream closed'));
    await container.start();
    const promptAt = await prompt;
    return {
      container,
      ms: { first: out.firstAt! - t0, prompt: promptAt - t0 },
      shell: { out, write: (data) => stream.write(data), close: () => stream.destroy() },
    };
  }

  /** `docker exec -it <container> bash`. */
  async exec(container: Docker.Container): Promise<Shell> {
    const exec = await container.exec({
      Cmd: ['bash'],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      Env: ['TERM=xterm-256color'],
    });
    const out = new Output();
    const prompt = out.next(atPrompt, 'exec prompt', 30_000);
    const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    stream.on('close', () => out.end('the exec stream closed'));
    await exec.resize({ h: 24, w: 80 }).catch(() => undefined);
    await prompt;
    return { out, write: (data) => stream.write(data), close: () => stream.destroy() };
  }

  async remove(container: Docker.Container): Promise<void> {
    this.containers.delete(container);
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }

  async removeAll(): Promise<void> {
    await Promise.all([...this.containers].map((c) => this.remove(c)));
  }
}
