// A real opslab server for the benchmarks, in a process of its own (forked by bench/run.ts with --expose-gc), so that
// its CPU time and memory can be told from the benchmark client's. It answers a few requests over the IPC channel:
// garbage collection, memory and CPU figures, the warm pool's state, and stop.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';
import { repoRoot } from '../server/src/paths.js';
import { BENCH_LABEL, type ServerMemory, type ServerRequest } from './protocol.js';

async function main(): Promise<void> {
  const env = JSON.parse(process.env.OPSLAB_BENCH_SERVER_ENV ?? '{}') as Record<string, string>;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-bench-'));
  const config = loadConfig(
    {
      OPSLAB_HOST: '127.0.0.1',
      OPSLAB_PORT: '0',
      OPSLAB_DATA_DIR: dataDir,
      OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'exercises'),
      OPSLAB_WEB_DIR: path.join(dataDir, 'no-web'),
      OPSLAB_LOG_LEVEL: 'warn',
      ...env,
    },
    repoRoot(),
  );
  const { app, services } = await buildApp({ config, sandboxLabels: { [BENCH_LABEL]: 'true' } });
  await services.attempts.startBackground();
  // (OPSLAB_PORT 0 unless a section sets one: replicas reach each other at a port known before they start.)
  await app.listen({ host: '127.0.0.1', port: config.port });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');

  const stop = async () => {
    const sandboxes = await services.driver.listManaged().catch(() => []);
    await app.close();
    // Removed in small batches: a hundred removals at once make the engine time out.
    for (let i = 0; i < sandboxes.length; i += 8) {
      await Promise.all(sandboxes.slice(i, i + 8).map((s) => services.driver.remove(s.id).catch(() => undefined)));
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  process.on('message', (msg: ServerRequest) => {
    const reply = (result: unknown) => process.send!({ id: msg.id, result });
    const fail = (err: Error) => process.send!({ id: msg.id, error: err.message });
    switch (msg.cmd) {
      case 'gc':
        // A few full collections with pauses between, so that what they free is given back before RSS is read.
        return void (async () => {
          for (let i = 0; i < 3; i++) {
            global.gc?.();
            await new Promise((r) => setTimeout(r, 100));
          }
          reply(memory());
        })();
      case 'memory':
        return reply(memory());
      case 'reset-hwm':
        // Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
        try {
          fs.writeFileSync('/proc/self/clear_refs', '5');
          return reply(true);
        } catch {
          return reply(false);
        }
      case 'cpu':
        return reply(process.cpuUsage());
      case 'pool-ready':
        return void services.attempts.warmPool.whenReady(120_000).then(() => reply(true), fail);
      case 'stop':
        return void stop().then(
          () => {
            reply(true);
            setTimeout(() => process.exit(0), 50);
          },
          (err: Error) => fail(err),
        );
    }
  });
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  process.send!({ ready: true, url: `http://127.0.0.1:${address.port}` });
}

function memory(): ServerMemory {
  const m = process.memoryUsage();
  let hwm: number | null = null;
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (kb) hwm = Number(kb[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, hwm };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
