import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, type Config } from '../../server/src/config.js';
import { buildApp, type Services } from '../../server/src/app.js';
import { repoRoot } from '../../server/src/paths.js';
import { requireDocker, testLabels } from './docker.js';

export interface TestServer {
  url: string;
  app: FastifyInstance;
  services: Services;
  config: Config;
  dataDir: string;
  /** Stops the server (sandboxes keep running, as on a real restart). */
  close(): Promise<void>;
  /** Stops the server, removes every sandbox it made and its data directory. */
  destroy(): Promise<void>;
}

/** Per-client practice start limits off (test/security/growth.test.ts sets its own). */
export const UNLIMITED_STARTS = {
  OPSLAB_PRACTICE_STARTS_PER_MINUTE: '0',
  OPSLAB_PRACTICE_STARTS_PER_HOUR: '0',
  OPSLAB_PRACTICE_NEW_TRAINEES_PER_HOUR: '0',
};

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-test-'));
}

/**
 * A real opslab server on a random loopback port, on the real Docker engine, with its own SQLite file, serving
 * the built web UI. Pass `dataDir` to start it again on the data of an earlier one, `log` to read its log lines.
 */
export async function startTestServer(
  opts: { dataDir?: string; env?: Record<string, string>; log?: { write(line: string): void } } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDataDir();
  const config = loadConfig(
    {
      OPSLAB_HOST: '127.0.0.1',
      OPSLAB_PORT: '0',
      OPSLAB_DATA_DIR: dataDir,
      OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'exercises'),
      OPSLAB_WEB_DIR: path.join(repoRoot(), 'dist', 'web'),
      OPSLAB_LOG_LEVEL: process.env.OPSLAB_TEST_LOG_LEVEL ?? 'warn',
      // The security suite's second pass runs every test server's sandboxes under another runtime (gVisor).
      ...(process.env.OPSLAB_SANDBOX_RUNTIME ? { OPSLAB_SANDBOX_RUNTIME: process.env.OPSLAB_SANDBOX_RUNTIME } : {}),
      // Every test starts from the same client: no per-client start limits unless a test sets them.
      ...UNLIMITED_STARTS,
      ...opts.env,
    },
    repoRoot(),
  );
  const { app, services } = await buildApp({
    config,
    sandboxLabels: testLabels(),
    // `log`: the server's log lines as JSON, at level info (tests that read what the server logs).
    ...(opts.log ? { logger: { level: 'info', stream: opts.log } } : {}),
  });
  await services.attempts.startBackground();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  const url = `http://127.0.0.1:${address.port}`;
  // Links the server hands out (invites, setup, activation) point at the port it really listens on.
  config.publicUrl = url;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
  };
  return {
    url,
    app,
    services,
    config,
    dataDir,
    close,
    async destroy() {
      const sandboxes = await services.driver.listManaged().catch(() => []);
      await close();
      await Promise.all(sandboxes.map((s) => services.driver.remove(s.id).catch(() => undefined)));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The server a describe block shares: started in a beforeAll registered where this is called (so the block's own
 * beforeAll hooks, registered after it, find it running) and destroyed in an afterAll. The returned object stands for
 * the server: reading it before the start throws.
 */
export function useTestServer(opts: Parameters<typeof startTestServer>[0] = {}): TestServer {
  let server: TestServer | undefined;
  beforeAll(async () => {
    await requireDocker();
    server = await startTestServer(opts);
  });
  afterAll(async () => {
    await server?.destroy();
  });
  const started = (): TestServer => {
    if (!server) throw new Error('the test server starts in beforeAll');
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    get app() {
      return started().app;
    },
    get services() {
      return started().services;
    },
    get config() {
      return started().config;
    },
    get dataDir() {
      return started().dataDir;
    },
    close: () => started().close(),
    destroy: () => started().destroy(),
  };
}

/** Runs `sh -c cmd` in an attempt's sandbox through the engine (as the candidate's shell would); its stdout. Fails on a non-zero exit. */
export async function sandboxSh(server: TestServer, attemptId: string, cmd: string): Promise<string> {
  const sandboxId = (await server.services.attempts.get(attemptId))?.sandboxId;
  if (!sandboxId) throw new Error(`attempt ${attemptId} has no sandbox`);
  const res = await server.services.driver.exec(sandboxId, ['sh', '-c', cmd]);
  if (res.exitCode !== 0) throw new Error(`sh -c ${JSON.stringify(cmd)} exited ${res.exitCode}: ${res.stderr}`);
  return res.stdout;
}
