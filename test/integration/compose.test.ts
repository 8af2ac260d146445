// The platform in its own container: docker compose builds server/Dockerfile, starts it with the
// host's engine socket, and /api/health answers 200 on the port we chose.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage, NODE_BASE_TAG } from '../../server/src/images/index.js';
import { repoRoot } from '../../server/src/paths.js';
import { DockerImageEngine } from '../../server/src/sandbox/drivers/docker/image-engine.js';
import { docker, requireDocker } from '../helpers/docker.js';

const PORT = Number(process.env.OPSLAB_TEST_COMPOSE_PORT ?? 18080);
const PROJECT = 'opslab-test-compose';
const IMAGE = 'opslab-test-server:latest';

/** `docker compose` (v2 plugin) when present, else `docker-compose` (v1, Debian's package). */
function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  throw new Error('neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install -y docker-compose)');
}

const env = {
  ...process.env,
  OPSLAB_HOST: '127.0.0.1',
  OPSLAB_PORT: String(PORT),
  OPSLAB_SERVER_IMAGE: IMAGE,
  OPSLAB_LOG_LEVEL: 'warn',
};

function compose(args: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  const [cmd, ...pre] = composeCommand();
  return new Promise((resolve) => {
    const child = spawn(cmd!, [...pre, '-p', PROJECT, '-f', 'docker-compose.yml', ...args], {
      cwd: repoRoot(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (c: Buffer) => (output = (output + c.toString()).slice(-20_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGTERM');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('docker compose deployment (real engine)', () => {
  beforeAll(async () => {
    await requireDocker();
    composeCommand();
    // Leftovers of an interrupted run.
    await compose(['down', '-v', '--remove-orphans'], 120_000);
    expect(await portFree(PORT), `port ${PORT} is taken: set OPSLAB_TEST_COMPOSE_PORT`).toBe(true);
    // FROM node:20-bookworm-slim: pulled, or built here when no registry answers.
    await ensureBaseImage(new DockerImageEngine(docker), NODE_BASE_TAG, { log: () => undefined });
  }, 15 * 60_000);

  afterAll(async () => {
    const down = await compose(['down', '-v', '--remove-orphans'], 180_000);
    if (down.code !== 0) process.stderr.write(`[compose] down failed:\n${down.output}\n`);
  }, 200_000);

  it('builds, starts and answers /api/health, and reports healthy', async () => {
    const t0 = Date.now();
    const build = await compose(['build'], 12 * 60_000);
    expect(build.code, build.output.slice(-5000)).toBe(0);
    const buildMs = Date.now() - t0;

    const up = await compose(['up', '-d'], 120_000);
    expect(up.code, up.output).toBe(0);

    const url = `http://127.0.0.1:${PORT}/api/health`;
    let last = 'no answer';
    let body: unknown = null;
    const until = Date.now() + 120_000;
    while (Date.now() < until) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
        last = `${res.status} ${await res.clone().text()}`;
        if (res.status === 200) {
          body = await res.json();
          break;
        }
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(500);
    }
    const logs = body ? '' : (await compose(['logs', '--no-color', '--tail', '80'], 60_000)).output;
    expect(body, `GET ${url}: ${last}\n${logs}`).toMatchObject({ status: 'ok', docker: 'ok' });

    // The image's health check (the same request, from inside the container) turns healthy.
    const ids = (await compose(['ps', '-q'], 60_000)).output.trim().split('\n').filter(Boolean);
    expect(ids).toHaveLength(1);
    let health = '';
    const healthUntil = Date.now() + 90_000;
    while (Date.now() < healthUntil) {
      health = (await docker.getContainer(ids[0]!).inspect()).State.Health?.Status ?? 'none';
      if (health === 'healthy' || health === 'unhealthy') break;
      await sleep(1000);
    }
    expect(health).toBe('healthy');
    process.stdout.write(`[compose] build ${Math.round(buildMs / 1000)} s, healthy after ${Math.round((Date.now() - t0 - buildMs) / 1000)} s\n`);
  }, 20 * 60_000);
});
