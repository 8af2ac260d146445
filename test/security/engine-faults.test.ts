// Item 10: the engine misbehaves. A sandbox removed or killed from outside opslab, and the engine itself
// restarted (live-restore on: the sandboxes keep running) under live attempts.
//
// The restart uses a dockerd of this test's own (test/helpers/private-dockerd.ts: its own socket, data root and
// exec root): the engine every other test uses is never stopped. Where no private dockerd can run (not root, no
// dockerd binary), that one test is skipped and says why; CI runs as root.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Services } from '../../server/src/app.js';
import { loadConfig } from '../../server/src/config.js';
import { repoRoot } from '../../server/src/paths.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import type { FastifyInstance } from 'fastify';
import { docker, requireDocker, testLabels } from '../helpers/docker.js';
import { tempDataDir, useTestServer } from '../helpers/server.js';
import { staffSession } from '../helpers/staff.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt } from '../helpers/api.js';
import { figure } from '../helpers/figures.js';
import { PrivateDockerd, privateDockerdUnavailable } from '../helpers/private-dockerd.js';

const ITEM = '10 engine faults';
const RECONCILE_SECONDS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sandboxOf = (c: { type: string; attempt?: unknown }) => (c.attempt as { sandbox?: string } | undefined)?.sandbox;

describe('a sandbox removed or killed outside opslab (real server, real engine)', () => {
  const server = useTestServer({
    env: {
      OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/unit-exercises'),
      OPSLAB_RECONCILE_INTERVAL_SECONDS: String(RECONCILE_SECONDS),
    },
  });

  it('removed (docker rm -f): the attempt says missing within a reconcile pass, refuses a terminal, and is submitted with a grading error', async () => {
    const { attempt, token } = await startAttempt(server.url, 'graded-demo');
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    await term.waitFor(() => /# $/.test(stripAnsi(term.text)));
    const sandboxId = (await server.services.attempts.get(attempt.id))!.sandboxId!;
    const t0 = Date.now();
    await docker.getContainer(sandboxId).remove({ force: true });
    await term.waitFor(() => term.controls.some((c) => c.type === 'attempt' && sandboxOf(c) === 'missing'));
    const noticedMs = Date.now() - t0;
    expect(term.controls.map((c) => c.type)).toContain('shell-exited');

    const view = await api(server.url, 'GET', `/api/attempts/${attempt.id}`, token);
    expect(view.body.attempt).toMatchObject({ state: 'running', sandbox: 'missing' });
    // A reconcile pass agrees and adopts nothing.
    const r0 = Date.now();
    const report = await server.services.attempts.reconcile();
    const reconcileMs = Date.now() - r0;
    expect(report.adopted).not.toContain(attempt.id);
    expect((await server.services.attempts.get(attempt.id))!.sandboxStatus).toBe('missing');
    expect(await TestTerminal.refusedStatus(`${server.url}/api/attempts/${attempt.id}/terminal`, { authorization: `Bearer ${token}` })).toBe(409);
    const restart = await api(server.url, 'POST', `/api/attempts/${attempt.id}/restart-shell`, token);
    expect(restart.status).toBe(409);
    expect(restart.body.error.code).toBe('OPSLAB_ERR_SANDBOX_MISSING');
    const checks = await api(server.url, 'POST', `/api/attempts/${attempt.id}/checks`, token);
    expect(checks.status).toBe(409);

    const submitted = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    expect(submitted.status, submitted.text).toBe(200);
    expect(submitted.body.attempt).toMatchObject({ state: 'archived', endReason: 'submitted' });
    // The final grading is stored as an error (never as a fail), with the reason.
    const grading = (await server.services.attempts.finalRun(attempt.id))!;
    expect(grading.error).toMatch(/sandbox was gone/);
    expect(grading.results).toEqual([]);
    const staff = await staffSession(server, 'interviewer');
    const bundle = await fetch(`${server.url}/api/manage/attempts/${attempt.id}`, { headers: staff.headers });
    expect(bundle.status).toBe(200);
    expect(((await bundle.json()) as { grading: { error: string } }).grading.error).toMatch(/sandbox was gone/);

    figure(ITEM, `sandbox removed from outside: until the attempt says missing (reconcile every ${RECONCILE_SECONDS} s)`, noticedMs, 'ms');
    figure(ITEM, 'reconcile pass (in-process, one missing attempt)', reconcileMs, 'ms');
  });

  it('killed (docker kill): the attempt says exited; the shell restarts in the same container, and it grades normally', async () => {
    const { attempt, token } = await startAttempt(server.url, 'graded-demo');
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    await term.waitFor(() => /# $/.test(stripAnsi(term.text)));
    term.type('echo kept > /root/kept.txt\r');
    await sleep(300);
    const sandboxId = (await server.services.attempts.get(attempt.id))!.sandboxId!;
    const t0 = Date.now();
    await docker.getContainer(sandboxId).kill();
    await term.waitFor(() => term.controls.some((c) => c.type === 'attempt' && sandboxOf(c) === 'exited'));
    const noticedMs = Date.now() - t0;

    const r0 = Date.now();
    const restart = await api(server.url, 'POST', `/api/attempts/${attempt.id}/restart-shell`, token);
    const restartMs = Date.now() - r0;
    expect(restart.status, restart.text).toBe(200);
    expect(restart.body.attempt.sandbox).toBe('running');
    const again = await TestTerminal.connect(server.url, attempt.id, token);
    again.type('cat /root/kept.txt | tr a-z A-Z\r');
    await again.waitFor('KEPT');
    expect((await server.services.attempts.get(attempt.id))!.sandboxId).toBe(sandboxId);

    // Killed again and submitted as it lies: the final grading starts the container and grades it.
    await docker.getContainer(sandboxId).kill();
    await again.waitFor(() => again.controls.some((c) => c.type === 'attempt' && sandboxOf(c) === 'exited'));
    const submitted = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    expect(submitted.status, submitted.text).toBe(200);
    const grading = (await server.services.attempts.finalRun(attempt.id))!;
    expect(grading.error).toBeNull();
    expect(grading.results.map((r) => r.verdict).sort()).toEqual(['fail', 'pass']);

    figure(ITEM, 'sandbox killed from outside: until the attempt says exited', noticedMs, 'ms');
    figure(ITEM, 'restart-shell after the kill', restartMs, 'ms');
  });
});

const unavailable = privateDockerdUnavailable();

describe('the engine restarted under live attempts (a private dockerd with live-restore)', () => {
  let engine: PrivateDockerd;
  let app: FastifyInstance;
  let services: Services;
  let url: string;

  beforeAll(async () => {
    if (unavailable) return;
    await requireDocker();
    engine = await PrivateDockerd.start();
    await engine.loadImage('debian:bookworm-slim');
    const config = loadConfig(
      {
        OPSLAB_DATA_DIR: tempDataDir(),
        OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'exercises'),
        OPSLAB_WEB_DIR: path.join(repoRoot(), 'dist', 'web'),
        OPSLAB_LOG_LEVEL: process.env.OPSLAB_TEST_LOG_LEVEL ?? 'warn',
        OPSLAB_RECONCILE_INTERVAL_SECONDS: '1',
        ...(process.env.OPSLAB_SANDBOX_RUNTIME ? { OPSLAB_SANDBOX_RUNTIME: process.env.OPSLAB_SANDBOX_RUNTIME } : {}),
      },
      repoRoot(),
    );
    ({ app, services } = await buildApp({
      config,
      driver: (instance) => new DockerDriver({ docker: engine.docker, instance, policy: config.sandbox, extraLabels: testLabels() }),
      // A plain Debian image: loading the full sandbox image into the private engine would take longer.
      imageRef: () => 'debian:bookworm-slim',
    }));
    await services.attempts.startBackground();
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await engine?.destroy();
  });

  it.skipIf(unavailable !== null)(
    `dockerd restarted: the sandboxes keep running, the attempts reattach their shells and keep their deadlines${unavailable ? ` (skipped: ${unavailable})` : ''}`,
    async () => {
      const started = [await startAttempt(url), await startAttempt(url)];
      const terms = await Promise.all(
        started.map(async ({ attempt, token }, i) => {
          const term = await TestTerminal.connect(url, attempt.id, token);
          term.type(`export MARK=engine-${i}-$((40+2))\r`);
          term.type(`echo ready-${i}-$((1+1))\r`);
          await term.waitFor(`ready-${i}-2`);
          return term;
        }),
      );
      const pids = await Promise.all(
        started.map(async ({ attempt }) => {
          const id = (await services.attempts.get(attempt.id))!.sandboxId!;
          return (await engine.docker.getContainer(id).inspect()).State.Pid;
        }),
      );

      const t0 = Date.now();
      await engine.down();
      const downAt = Date.now();
      // While the engine is away, the attempts stay running (their sandboxes do too).
      await sleep(1500);
      for (const { attempt } of started) expect((await services.attempts.get(attempt.id))!.state).toBe('running');
      await engine.up();
      const upAt = Date.now();

      // Each browser was told the shell's connection ended, and then that it is back (the reconciler attached
      // it again); on the same WebSocket, which stayed open, the same shell answers with its variables.
      const back = await Promise.all(
        terms.map(async (term, i) => {
          const exited = () => term.controls.findIndex((c) => c.type === 'shell-exited');
          await term.waitFor(() => exited() >= 0);
          await term.waitFor(
            () => term.controls.slice(exited()).some((c) => c.type === 'attempt' && sandboxOf(c) === 'running'),
            30_000,
          );
          const ms = Date.now() - upAt;
          term.type(`echo "$MARK"\r`);
          await term.waitFor(`engine-${i}-42`, 20_000);
          return ms;
        }),
      );
      for (let i = 0; i < started.length; i++) {
        const { attempt, token } = started[i]!;
        const id = (await services.attempts.get(attempt.id))!.sandboxId!;
        expect((await engine.docker.getContainer(id).inspect()).State.Pid).toBe(pids[i]);
        const view = (await api(url, 'GET', `/api/attempts/${attempt.id}`, token)).body.attempt;
        expect(view).toMatchObject({ state: 'running', sandbox: 'running', deadline: attempt.deadline });
        terms[i]!.close();
      }
      // A browser that reconnects gets the screen and the shell too.
      const again = await TestTerminal.connect(url, started[0]!.attempt.id, started[0]!.token);
      await again.waitFor(() => again.repaint !== null);
      expect(stripAnsi(again.repaint!)).toContain('engine-0-42');
      again.close();
      figure(ITEM, 'dockerd stop (SIGTERM, live-restore)', downAt - t0, 'ms');
      figure(ITEM, 'dockerd start until it answers', upAt - downAt - 1500, 'ms');
      figure(ITEM, 'engine back until every shell is attached again (2 attempts, reconcile every 1 s)', Math.max(...back), 'ms');
      figure(ITEM, 'sandbox processes restarted by the engine restart', 0);
    },
    120_000,
  );
});
