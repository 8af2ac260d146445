import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface OffThreadOptions {
  /** The worker is terminated past this, and the call rejects. */
  timeoutMs: number;
  /** Heap the worker may use; past it the worker dies and the call rejects (the server lives on). */
  maxHeapMb?: number;
}

/**
 * Runs a worker module (one that answers a single `message` with a single `postMessage`) on its own thread and
 * returns its answer: CPU-heavy work on candidate-controlled input must never block the server's event loop.
 *
 * A worker module is given by the URL of its `.js` file; when the server runs from TypeScript sources (tests, the
 * CLI through tsx) the `.ts` file is loaded through tsx, resolved from this module.
 */
export function runOffThread<I, O>(moduleUrl: URL, input: I, opts: OffThreadOptions): Promise<O> {
  const [source, evalSource] = workerSource(moduleUrl);
  const worker = new Worker(source, {
    eval: evalSource,
    resourceLimits: { maxOldGenerationSizeMb: opts.maxHeapMb ?? 1024 },
  });
  return new Promise<O>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`worker ${moduleUrl.pathname} took longer than ${opts.timeoutMs} ms`))),
      opts.timeoutMs,
    );
    worker.once('message', (msg: { ok: true; value: O } | { ok: false; error: string }) =>
      settle(() => (msg.ok ? resolve(msg.value) : reject(new Error(msg.error)))),
    );
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`worker ${moduleUrl.pathname} exited with ${code}`))));
    worker.postMessage(input);
  });
}

/** A worker module's file beside the calling module, with the caller's extension (`.ts` in sources, `.js` built). */
export function siblingModule(callerUrl: string, baseName: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${baseName}${ext}`, callerUrl);
}

function workerSource(moduleUrl: URL): [string | URL, boolean] {
  if (!moduleUrl.pathname.endsWith('.ts')) return [moduleUrl, false];
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const tsx = pathToFileURL(path.join(path.dirname(manifest), exports['./esm/api']!.import.default)).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
  return [boot, true];
}

/** The worker side: answers one message with what `fn` returns (or the error it throws). */
export async function serveOneMessage<I, O>(port: import('node:worker_threads').MessagePort, fn: (input: I) => Promise<O> | O): Promise<void> {
  const input = await new Promise<I>((resolve) => port.once('message', resolve));
  try {
    port.postMessage({ ok: true, value: await fn(input) });
  } catch (err) {
    port.postMessage({ ok: false, error: (err as Error).stack ?? String(err) });
  }
}
