// Warm pools on a real server and engine: claims, isolation between the attempts that claim pooled sandboxes, no
// reuse, refills, and what the reconciler does with pooled sandboxes after a restart.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { LABELS } from '../../server/src/sandbox/labels.js';
import { effectiveLimits } from '../../server/src/sandbox/policy.js';
import { sandboxImageRef } from '../../server/src/app.js';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { docker, requireDocker } from '../helpers/docker.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestTerminal, stripAnsi } from '../helpers/terminal-client.js';
import { api, startAttempt, type StartedAttempt } from '../helpers/api.js';

const FIXTURES = path.join(repoRoot(), 'test/fixtures/exercises');
const EXERCISE = 'fixture-basic';
const PROMPT = /root@sandbox[^#]*# $/;

/** This server's pooled sandboxes (not claimed: claimed ones keep the label, so the database decides). */
async function poolContainers(server: TestServer): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [LABELS.pool, `${LABELS.instance}=${server.services.instance}`] },
  });
  const rows = server.services.sqlite!.prepare('SELECT sandbox_id FROM attempts WHERE sandbox_id IS NOT NULL').all();
  const claimed = new Set((rows as { sandbox_id: string }[]).map((r) => r.sandbox_id));
  return list.map((c) => c.Id).filter((id) => !claimed.has(id));
}

async function exists(id: string): Promise<boolean> {
  return docker
    .getContainer(id)
    .inspect()
    .then(() => true)
    .catch((err: { statusCode?: number }) => {
      if (err.statusCode === 404) return false;
      throw err;
    });
}

async function terminalAtPrompt(server: TestServer, started: StartedAttempt): Promise<TestTerminal> {
  const term = await TestTerminal.connect(server.url, started.attempt.id, started.token);
  await term.waitFor(() => PROMPT.test(stripAnsi(term.text)));
  return term;
}

describe('warm pool (real server, real engine)', () => {
  let server: TestServer;
  let dataDir: string;

  beforeAll(async () => {
    await requireDocker();
    // Only the boot pass and the passes a test asks for: a periodic one (every 15 s by default) could fall between
    // a test's setting up of strays and its restart, and take them before the restart's pass is looked at.
    server = await startTestServer({ env: { OPSLAB_EXERCISES_DIR: FIXTURES, OPSLAB_WARM_POOL: `${EXERCISE}=2`, OPSLAB_RECONCILE_INTERVAL_SECONDS: '3600' } });
    dataDir = server.dataDir;
    await server.services.attempts.warmPool.whenReady(120_000);
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('gives two attempts different pooled sandboxes with their own seeds, and nothing of one is visible in the other', async () => {
    const pooled = await poolContainers(server);
    expect(pooled).toHaveLength(2);
    const a = await startAttempt(server.url, EXERCISE);
    const b = await startAttempt(server.url, EXERCISE);
    const attemptA = (await server.services.attempts.get(a.attempt.id))!;
    const attemptB = (await server.services.attempts.get(b.attempt.id))!;
    expect(pooled).toContain(attemptA.sandboxId);
    expect(pooled).toContain(attemptB.sandboxId);
    expect(attemptA.sandboxId).not.toBe(attemptB.sandboxId);
    expect(attemptA.seed).not.toBe(attemptB.seed);
    // Each sandbox was set up with the variant of the attempt that claimed it.
    for (const attempt of [attemptA, attemptB]) {
      const ticket = await server.services.driver.exec(attempt.sandboxId!, ['cat', '/root/work/ticket.txt']);
      expect(ticket.stdout.trim()).toBe(`Please set the colour to ${attempt.params.color}.`);
    }
    // The container has no attempt label (it was made before the attempt); the attempt names its sandbox.
    const labels = (await docker.getContainer(attemptA.sandboxId!).inspect()).Config.Labels;
    expect(labels[LABELS.attempt]).toBeUndefined();
    // The pool slot, named after the replica whose pool it is.
    expect(labels[LABELS.pool]).toMatch(new RegExp(`^${server.services.attempts.ownership.id}\\.[0-9a-f]{16}$`));

    // A fresh prompt on connecting, then A leaves traces in its shell and files.
    const termA = await terminalAtPrompt(server, a);
    termA.type('export A_SECRET=alpha-7731; echo alpha-7731 > /root/work/a.txt; echo done-$((40+2))\r');
    await termA.waitFor('done-42');
    const termB = await terminalAtPrompt(server, b);
    expect(termB.text).not.toContain('alpha-7731');
    termB.type('cat /root/work/a.txt; echo "[${A_SECRET:-none}]"; echo end-$((60+6))\r');
    await termB.waitFor('end-66');
    const outB = stripAnsi(termB.text);
    expect(outB).toContain('No such file or directory');
    expect(outB).toContain('[none]');
    expect(outB).not.toContain('alpha-7731');
    termA.close();
    termB.close();

    // Each recording starts at the claim with a prompt, and holds only its own attempt's terminal.
    server.services.attempts.flushRecording(a.attempt.id);
    server.services.attempts.flushRecording(b.attempt.id);
    const castA = await api(server.url, 'GET', `/api/attempts/${a.attempt.id}/recording`, a.token);
    const castB = await api(server.url, 'GET', `/api/attempts/${b.attempt.id}/recording`, b.token);
    expect(castA.status).toBe(200);
    expect(castA.text).toContain('alpha-7731');
    expect(castB.text).not.toContain('alpha-7731');
    const eventsB = parseAsciicast(castB.text).events;
    expect(eventsB[0]).toEqual([expect.any(Number), 'm', 'started']);
    const firstOutput = eventsB.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    expect(PROMPT.test(stripAnsi(firstOutput.split('cat /root/work/a.txt')[0]!))).toBe(true);

    // The initial snapshot is each attempt's own, taken after setup: the diff at the end shows only A's change.
    for (const x of [a, b]) {
      const res = await api(server.url, 'POST', `/api/attempts/${x.attempt.id}/submit`, x.token);
      expect(res.status, res.text).toBe(200);
    }
    const diffA = server.services.attempts.snapshotDiff(a.attempt.id);
    const diffB = server.services.attempts.snapshotDiff(b.attempt.id);
    expect(diffA?.changed).toEqual([expect.objectContaining({ path: '/root/work/a.txt' })]);
    expect(diffB?.changed).toEqual([]);
    // Used sandboxes are removed, never returned to the pool.
    expect(await exists(attemptA.sandboxId!)).toBe(false);
    expect(await exists(attemptB.sandboxId!)).toBe(false);
  });

  it('refills, never hands out a sandbox twice, and replaces one removed behind its back', async () => {
    await server.services.attempts.warmPool.whenReady(120_000);
    const given = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const pooled = await poolContainers(server);
      expect(pooled).toHaveLength(2);
      for (const id of pooled) expect(given.has(id)).toBe(false);
      const started = await startAttempt(server.url, EXERCISE);
      const sandboxId = (await server.services.attempts.get(started.attempt.id))!.sandboxId!;
      expect(pooled).toContain(sandboxId);
      expect(given.has(sandboxId)).toBe(false);
      given.add(sandboxId);
      await api(server.url, 'POST', `/api/attempts/${started.attempt.id}/submit`, started.token);
      await server.services.attempts.warmPool.whenReady(120_000);
    }

    // A pooled sandbox removed by someone else: its shell ends, and the pool makes a new one.
    const [victim] = await poolContainers(server);
    await docker.getContainer(victim!).remove({ force: true });
    const deadline = Date.now() + 90_000;
    for (;;) {
      const now = await poolContainers(server);
      const ready = server.services.attempts.warmPool.status()[0]!.ready;
      if (ready === 2 && now.length === 2 && !now.includes(victim!)) break;
      if (Date.now() > deadline) throw new Error(`the pool was not refilled: ${JSON.stringify({ now, ready })}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  it('after a restart the reconciler keeps the claimed sandbox, reaps unclaimed pool sandboxes and adopts none as an attempt', async () => {
    await server.services.attempts.warmPool.whenReady(120_000);
    const claimed = await startAttempt(server.url, EXERCISE);
    const claimedSandbox = (await server.services.attempts.get(claimed.attempt.id))!.sandboxId!;
    const term = await terminalAtPrompt(server, claimed);
    term.type('echo keep-me > /root/c.txt; echo ok-$((3*3))\r');
    await term.waitFor('ok-9');
    term.close();

    await server.services.attempts.warmPool.whenReady(120_000);
    const ownPool = await poolContainers(server);
    expect(ownPool).toHaveLength(2);
    // A pooled sandbox of a server that died (its pool slot known to nobody), made as the pool makes them.
    const { driver, catalog, config } = server.services;
    const exercise = catalog.get(EXERCISE)!;
    const dead = await driver.create({
      attemptId: '',
      pool: 'deadbeefdeadbeef',
      exerciseId: EXERCISE,
      image: sandboxImageRef(exercise.image),
      limits: effectiveLimits(config.sandbox, exercise.limits),
    });
    await driver.start(dead);
    const attemptsBefore = (server.services.sqlite!.prepare('SELECT id FROM attempts ORDER BY id').all() as { id: string }[]).map(
      (r) => r.id,
    );

    // A restart: the server's own unclaimed pool goes with it; the claimed sandbox stays.
    await server.close();
    for (const id of ownPool) expect(await exists(id)).toBe(false);
    expect(await exists(claimedSandbox)).toBe(true);
    expect(await exists(dead)).toBe(true);

    server = await startTestServer({
      dataDir,
      env: { OPSLAB_EXERCISES_DIR: FIXTURES, OPSLAB_WARM_POOL: `${EXERCISE}=1`, OPSLAB_RECONCILE_INTERVAL_SECONDS: '3600' },
    });
    // The boot pass (startBackground) already ran: the dead pool's sandbox is gone, the claimed one adopted.
    expect(await exists(dead)).toBe(false);
    expect(await exists(claimedSandbox)).toBe(true);
    const attempt = (await server.services.attempts.get(claimed.attempt.id))!;
    expect(attempt.state).toBe('running');
    expect(attempt.sandboxId).toBe(claimedSandbox);
    const attemptsAfter = (server.services.sqlite!.prepare('SELECT id FROM attempts ORDER BY id').all() as { id: string }[]).map(
      (r) => r.id,
    );
    expect(attemptsAfter).toEqual(attemptsBefore);

    // Later passes leave both the claimed sandbox and the new server's pool alone.
    await server.services.attempts.warmPool.whenReady(120_000);
    const newPool = await poolContainers(server);
    expect(newPool).toHaveLength(1);
    const report = await server.services.attempts.reconcile();
    expect(report.orphansRemoved).toEqual([]);
    expect(await exists(newPool[0]!)).toBe(true);
    const again = await TestTerminal.connect(server.url, claimed.attempt.id, claimed.token);
    again.type('cat /root/c.txt\r');
    await again.waitFor(/keep-me\s*\n/);
    again.close();
    expect((await server.services.attempts.get(claimed.attempt.id))!.state).toBe('running');
  });
});
