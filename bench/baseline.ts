// The baselines: dockerode straight on the engine, the same image and the same container options as opslab's driver.
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import { sandboxContainerSpec } from '../server/src/sandbox/drivers/docker/container-spec.js';
import { CAPABILITY_ALLOWLIST } from '../server/src/sandbox/policy.js';
import type { ResourceLimits } from '../server/src/sandbox/sandbox-driver.js';
import { atPrompt, Output, type Shell } from './client.js';
import { BENCH_LABEL } from './protocol.js';

/** A sandbox as opslab's driver creates it (the default policy: runc, the capability allow-list), with the bench's label. */
export function hardenedContainer(image: string, limits: ResourceLimits): Docker.ContainerCreateOptions {
  // The image's CMD is ["bash", "-l"].
  return sandboxContainerSpec({
    image,
    labels: { [BENCH_LABEL]: 'true' },
    limits,
    runtime: 'runc',
    capabilities: CAPABILITY_ALLOWLIST,
  });
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
