// One created container run to its end within limits (an image build's RUN step): its output kept up to a cap, and
// the container killed when the time is up, when it writes far more output than is kept, or when its writable layer
// grows past a disk quota.
import type Docker from 'dockerode';
import { CappedOutput, ExecDemuxer } from './exec.js';

/** How often the writable layer is sampled against the quota (the engine walks the layer: about 1 ms for a few large files). */
export const DISK_SAMPLE_MS = 250;

export interface RunLimits {
  /** Epoch ms: the container is killed then. */
  deadline: number;
  /** Output kept (head and tail, stdout and stderr together); past 64 times this the container is killed. */
  maxOutputBytes: number;
  /** Bytes of the writable layer past which it is killed; 0: not sampled. */
  quotaBytes: number;
}

export type RunStop = { limit: 'timeout' | 'output' | 'disk'; message: string };

export interface RunOutcome {
  /** Null when a limit stopped it. */
  exitCode: number | null;
  oomKilled: boolean;
  output: string;
  stopped: RunStop | null;
}

/** Starts `container` (created with stdout and stderr attachable) and waits for its end or a limit. */
export async function runBounded(container: Docker.Container, limits: RunLimits): Promise<RunOutcome> {
  const output = new CappedOutput(Math.floor(limits.maxOutputBytes / 4), Math.ceil((limits.maxOutputBytes * 3) / 4));
  const maxRead = limits.maxOutputBytes * 64;
  let read = 0;
  let stopped: RunStop | null = null;
  let wake!: () => void;
  const limitHit = new Promise<null>((resolve) => (wake = () => resolve(null)));
  const stop = (s: RunStop) => {
    if (stopped) return;
    stopped = s;
    wake();
  };
  const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream & { destroy?: () => void };
  const demux = new ExecDemuxer(
    (b) => output.push(b),
    (b) => output.push(b),
  );
  stream.on('data', (b: Buffer) => {
    read += b.length;
    if (read > maxRead) stop({ limit: 'output', message: `the step wrote more than ${maxRead} bytes of output: stopped` });
    else demux.push(b);
  });
  // 'next-exit', asked before the start: the default ('not-running') answers at once for a created container.
  const waited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
  // Handled here too: a run stopped at a limit (or whose start failed) never awaits it.
  waited.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    await container.start();
    timer = setTimeout(() => stop({ limit: 'timeout', message: 'the build took longer than its time limit: stopped' }), Math.max(0, limits.deadline - Date.now()));
    let sampling = false;
    if (limits.quotaBytes > 0) {
      sampler = setInterval(() => {
        if (sampling) return;
        sampling = true;
        container
          .inspect({ size: true } as Docker.ContainerInspectOptions)
          .then((i: Docker.ContainerInspectInfo & { SizeRw?: number }) => {
            const size = i.SizeRw ?? 0;
            if (size > limits.quotaBytes) stop({ limit: 'disk', message: `the step wrote ${size} bytes to its disk, over the ${limits.quotaBytes} left of the build's quota: stopped` });
          })
          .catch(() => undefined)
          .finally(() => (sampling = false));
      }, DISK_SAMPLE_MS);
    }
    const exit = await Promise.race([waited, limitHit]);
    if (exit === null) await container.kill().catch(() => undefined);
    const oomKilled = exit !== null && exit.StatusCode === 137 && (await container.inspect()).State.OOMKilled;
    return { exitCode: exit?.StatusCode ?? null, oomKilled, output: output.text(), stopped };
  } finally {
    clearTimeout(timer);
    clearInterval(sampler);
    stream.destroy?.();
  }
}
