// Three real server processes on one real PostgreSQL server and one real engine, sharing a data directory (the
// recordings' volume), as replicas behind a load balancer would: starts spread over the three respect the capacity
// exactly; an attempt started through one is typed into through another (the connection is passed to the owner);
// the owner is killed mid-output and a survivor takes the attempt over with the same shell, a recording without a
// gap, and one expiry and one final grading; no sandbox is left behind or removed wrongly.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../server/src/auth/service.js';
import { loadConfig } from '../../server/src/config.js';
import { openPostgres } from '../../server/src/store/postgres-sql.js';
import type { Database } from '../../server/src/store/sql.js';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { api, attemptCookieToken, startAttempt } from '../helpers/api.js';
import { docker, requireDocker } from '../helpers/docker.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { freePort, ServerProcess } from '../helpers/server-process.js';
import { tempDataDir } from '../helpers/server.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';

const CAPACITY = 5;
const LEASE_SECONDS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Tries to open the attempt's terminal through each of `servers` in turn until one takes it (the owner changing). */
async function reconnect(servers: ServerProcess[], attemptId: string, token: string, timeoutMs: number): Promise<{ terminal: TestTerminal; via: ServerProcess }> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const via = servers[i % servers.length]!;
    try {
      const terminal = await TestTerminal.connect(via.url, attemptId, token);
      const first = await Promise.race([
        terminal.closed.then(() => 'closed' as const),
        (async () => {
          await terminal.waitFor(() => terminal.controls.some((c) => c.type === 'hello'));
          return 'open' as const;
        })(),
      ]);
      if (first === 'open') return { terminal, via };
    } catch {
      /* refused while the owner changes */
    }
    if (Date.now() > deadline) throw new Error(`no replica served the terminal within ${timeoutMs} ms`);
    await sleep(250);
  }
}

describe('replicas (three server processes, real PostgreSQL, real engine)', () => {
  let pg: TestPostgres;
  let db: Database;
  let dataDir: string;
  let servers: ServerProcess[] = [];
  let instance = '';

  beforeAll(async () => {
    await requireDocker();
    pg = await startPostgres();
    db = await openPostgres(pg.url, { max: 2 });
    dataDir = tempDataDir();
    const ports = [await freePort(), await freePort(), await freePort()];
    servers = ['ra', 'rb', 'rc'].map(
      (id, i) =>
        new ServerProcess(ports[i]!, dataDir, {
          OPSLAB_DATABASE_URL: pg.url,
          OPSLAB_REPLICA_ID: id,
          OPSLAB_INTERNAL_URL: `http://127.0.0.1:${ports[i]}`,
          OPSLAB_LEASE_SECONDS: String(LEASE_SECONDS),
          OPSLAB_RECONCILE_INTERVAL_SECONDS: '2',
          OPSLAB_MAX_SANDBOXES: String(CAPACITY),
          OPSLAB_PRACTICE_MAX_SANDBOXES: String(CAPACITY),
        }),
    );
    // One after the other: the first migrates the database.
    for (const s of servers) await s.start();
    instance = (await db.one<{ value: string }>("SELECT value FROM meta WHERE key = 'instance_id'"))!.value;
  }, 180_000);

  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL').catch(() => undefined);
    if (instance) {
      const list = await docker.listContainers({ all: true, filters: { label: [`opslab.instance=${instance}`] } });
      await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
    }
    await db?.close();
    await pg?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const managedSandboxes = async () =>
    (await docker.listContainers({ all: true, filters: { label: [`opslab.instance=${instance}`, 'opslab.role=sandbox'] } })).map((c) => c.Id);

  it('50 starts spread over the three replicas admit exactly OPSLAB_MAX_SANDBOXES', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(`${servers[i % 3]!.url}/api/attempts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ exerciseId: 'shell-warmup' }),
        }).then(async (res) => ({ status: res.status, body: (await res.json()) as { attempt?: { id: string }; token?: string } })),
      ),
    );
    const started = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 503);
    expect(started, JSON.stringify(answers.filter((a) => a.status !== 201 && a.status !== 503))).toHaveLength(CAPACITY);
    expect(refused).toHaveLength(50 - CAPACITY);
    // The database and the engine agree: exactly that many attempts hold a sandbox, exactly that many sandboxes exist.
    const holding = await db.one<{ n: number }>(
      "SELECT COUNT(*) AS n FROM attempts WHERE state IN ('created', 'running') AND sandbox_status IN ('provisioning', 'running', 'exited')",
    );
    expect(holding!.n).toBe(CAPACITY);
    expect(await managedSandboxes()).toHaveLength(CAPACITY);
    // Each is owned by the replica that admitted it; between them the three admitted all of them.
    const owners = await db.all<{ owner: string }>("SELECT owner FROM attempts WHERE state = 'running'");
    expect(owners.every((o) => ['ra', 'rb', 'rc'].includes(o.owner))).toBe(true);
    // Ended through any replica (not necessarily the owner): each once, and the room is free again.
    for (const [i, a] of started.entries()) {
      const ended = await api(servers[(i + 1) % 3]!.url, 'POST', `/api/attempts/${a.body.attempt!.id}/submit`, a.body.token);
      expect(ended.status, ended.text).toBe(200);
    }
    const ends = await db.all<{ attempt_id: string; n: number; state: string }>(
      `SELECT e.attempt_id, COUNT(*) AS n, MIN(a.state) AS state FROM attempt_events e JOIN attempts a ON a.id = e.attempt_id
        WHERE e.kind = 'submitted' GROUP BY e.attempt_id`,
    );
    expect(ends.map((e) => [e.n, e.state])).toEqual(started.map(() => [1, 'archived']));
    expect(await managedSandboxes()).toHaveLength(0);
  }, 240_000);

  it('refuses a second live process under a replica id already in use', async () => {
    const twin = new ServerProcess(await freePort(), dataDir, { ...servers[1]!.env, OPSLAB_INTERNAL_URL: 'http://127.0.0.1:1' });
    await expect(twin.start()).rejects.toThrow('Another server is running as replica "rb"');
    // The live one goes on.
    expect((await fetch(`${servers[1]!.url}/api/health`)).status).toBe(200);
  }, 60_000);

  it("an extension and a reissued link made through another replica reach the terminal its owner holds", async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess, ServerProcess];
    // An admin signed in on B.
    const auth = new AuthService(db, loadConfig({ OPSLAB_DATA_DIR: dataDir }));
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const email = `admin-${randomBytes(4).toString('hex')}@example.test`;
    await auth.createUser({ email, name: 'Rhea Admin', role: 'admin', password });
    const login = await fetch(`${b.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);
    const staff = {
      cookie: login.headers.getSetCookie().find((l) => l.startsWith('opslab_session='))!.split(';')[0]!,
      'x-csrf-token': ((await login.json()) as { csrfToken: string }).csrfToken,
      'content-type': 'application/json',
    };
    const manage = async (path: string, body: unknown = {}) => {
      const res = await fetch(`${b.url}/api/manage/invites${path}`, { method: 'POST', headers: staff, body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      return (await res.json()) as { invite: { id: string; link: string } };
    };
    const { invite } = await manage('', { exerciseId: 'shell-warmup', candidateName: 'Casey Replica', candidateEmail: 'casey@example.test', showFeedback: false });

    // The candidate opens the link through A, which owns the attempt and holds its shell.
    const started = await fetch(`${a.url}/api/invite/start`, { method: 'POST', headers: { authorization: `Bearer ${new URL(invite.link).hash.slice(1)}` } });
    expect(started.status).toBe(201);
    const { attempt } = (await started.json()) as { attempt: { id: string; deadline: string } };
    const token = attemptCookieToken(started.headers, attempt.id);
    expect((await db.one<{ owner: string }>('SELECT owner FROM attempts WHERE id = ?', [attempt.id]))!.owner).toBe('ra');
    const candidate = await TestTerminal.connect(a.url, attempt.id, token);
    await candidate.waitFor(/[#$] /);
    // The start's own updates are over (the sandbox runs): what comes next is the push.
    await candidate.waitFor(() => candidate.controls.some((c) => c.type === 'attempt' && (c.attempt as { sandbox: string }).sandbox === 'running'));
    const updatesBefore = candidate.controls.length;

    // Ten more minutes, given through B: the candidate's countdown on A follows at once.
    const extendedAt = Date.now();
    await manage(`/${invite.id}/extend`, { minutes: 10 });
    const later = Date.parse(attempt.deadline) + 10 * 60_000;
    await candidate.waitFor(() =>
      candidate.controls.slice(updatesBefore).some((c) => c.type === 'attempt' && Date.parse((c.attempt as { deadline: string }).deadline) === later),
    );
    const pushMs = Date.now() - extendedAt;

    // A new link, issued through B: the candidate's window on A is closed as moved.
    await manage(`/${invite.id}/reissue`);
    const closed = await Promise.race([candidate.closed, sleep(10_000).then(() => null)]);
    expect(closed?.code).toBe(4001);

    // A's recording holds both markers (read through B: once A's recorder has flushed them, within a quarter second).
    const markers = async () => {
      const recording = await fetch(`${b.url}/api/manage/attempts/${attempt.id}/recording`, { headers: staff });
      return parseAsciicast(await recording.text()).events.filter((e) => e[1] === 'm').map((e) => String(e[2]));
    };
    await expect.poll(markers, { timeout: 5_000 }).toEqual(expect.arrayContaining(['time extended 10 min', 'link reissued by Rhea Admin']));

    // Revoked (through B): ended once, nothing left behind for the tests after this one.
    await manage(`/${invite.id}/revoke`);
    for (let i = 0; i < 120 && (await managedSandboxes()).length > 0; i++) await sleep(250);
    expect(await managedSandboxes()).toHaveLength(0);
    console.log(`[figures] extension through another replica reached the owner's terminal in ${pushMs} ms`);
  }, 120_000);

  it('an attempt typed into through another replica survives its owner being killed mid-output, graded and expired once', async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    // An exercise with checks, so that there is a final grading to count.
    const { attempt, token } = await startAttempt(a.url, 'artifact-retention');
    expect((await db.one<{ owner: string }>('SELECT owner FROM attempts WHERE id = ?', [attempt.id]))!.owner).toBe('ra');

    // Typed through B: the connection is passed on to A, which holds the shell.
    const viaB = await TestTerminal.connect(b.url, attempt.id, token);
    await viaB.waitFor(/[#$] /);
    viaB.type('export OPSLAB_MARK=kept-$((40+2)); echo "pid=$$"\r');
    await viaB.waitFor(/pid=\d+/);
    const pid = /pid=(\d+)/.exec(stripAnsi(viaB.text))![1];
    // 20 lines over about 0.8 s: the owner dies while they are printed, and the rest are printed while no replica holds
    // the shell (its lease runs at least 2 s past the kill: 3 s from a renewal at most 1 s old).
    viaB.type('for i in $(seq 1 20); do echo "tick-$i"; sleep 0.04; done; echo ticks-$((6*7))-done\r');
    await viaB.waitFor('tick-3\r\n');
    const sandboxId = (await db.one<{ sandbox_id: string }>('SELECT sandbox_id FROM attempts WHERE id = ?', [attempt.id]))!.sandbox_id;
    const killedAt = Date.now();
    await a.stop('SIGKILL');
    // B's passed-on connection ends with "reconnect".
    expect((await viaB.closed).code).toBe(1012);

    // The browser reconnects, to whichever replica answers: a survivor takes the attempt over once A's lease runs out.
    const { terminal: after, via } = await reconnect([c, b], attempt.id, token, 30_000);
    const lease = (await db.one<{ owner: string }>('SELECT owner FROM attempts WHERE id = ?', [attempt.id]))!;
    expect(['rb', 'rc']).toContain(lease.owner);
    const takenOver = await db.one<{ at: number }>(
      "SELECT MIN(at) AS at FROM attempt_events WHERE attempt_id = ? AND kind IN ('adopted', 'taken-over') AND at >= ?",
      [attempt.id, killedAt],
    );
    const takeOverMs = takenOver!.at - killedAt;
    expect(takeOverMs).toBeGreaterThan(0);
    // A generous bound: the lease (3 s) plus a renewal period and a reconcile pass.
    expect(takeOverMs).toBeLessThan(LEASE_SECONDS * 1000 + 8_000);

    // The same shell: its variable and its process id.
    await after.waitFor(() => after.repaint !== null);
    after.type('echo "mark=$OPSLAB_MARK pid=$$"\r');
    await after.waitFor(`mark=kept-42 pid=${pid}`);
    await after.waitFor('ticks-42-done');

    // The recording has every line once, those printed while no replica held the shell recovered from the engine log.
    // Read through the replica the browser reached, which need not hold the terminal: the holder's recorder writes its
    // buffer (here the "adopted" marker) to the file within a quarter second.
    const recording = async () => parseAsciicast((await api(via.url, 'GET', `/api/attempts/${attempt.id}/recording`, token)).text);
    await expect
      .poll(async () => (await recording()).events.filter((e) => e[1] === 'm').map((e) => String(e[2])), { timeout: 5_000 })
      .toContain('adopted');
    const cast = await recording();
    const output = cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    const missing = Array.from({ length: 20 }, (_, i) => `tick-${i + 1}`).filter((t) => output.split(`${t}\r\n`).length - 1 !== 1);
    expect(missing).toEqual([]);
    const times = cast.events.map((e) => e[0]);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    const markers = cast.events.filter((e) => e[1] === 'm').map((e) => String(e[2]));
    const recovered = markers.find((m) => m.startsWith('recovered ('));
    expect(markers).toContain('adopted');
    expect(recovered).toBeDefined();

    // The deadline passes (moved into the past here rather than waiting the exercise's minutes): it expires once.
    await db.run('UPDATE attempts SET deadline = ? WHERE id = ?', [Date.now() - 1000, attempt.id]);
    const endedClose = await Promise.race([after.closed, sleep(30_000).then(() => null)]);
    expect(endedClose?.code).toBe(4410);
    for (let i = 0; i < 120; i++) {
      const row = await db.one<{ state: string }>('SELECT state FROM attempts WHERE id = ?', [attempt.id]);
      if (row!.state === 'archived') break;
      await sleep(250);
    }
    const counts = await db.one<{ expired: number; finals: number }>(
      `SELECT (SELECT COUNT(*) FROM attempt_events WHERE attempt_id = ? AND kind = 'expired') AS expired,
              (SELECT COUNT(*) FROM grading_runs WHERE attempt_id = ? AND kind = 'final') AS finals`,
      [attempt.id, attempt.id],
    );
    expect(counts).toEqual({ expired: 1, finals: 1 });
    expect((await db.one<{ state: string }>('SELECT state FROM attempts WHERE id = ?', [attempt.id]))!.state).toBe('archived');
    // Its sandbox is gone, and nothing else of this installation is left.
    expect(await managedSandboxes()).not.toContain(sandboxId);
    expect(await managedSandboxes()).toHaveLength(0);
    console.log(`[figures] take-over after kill -9: ${takeOverMs} ms (lease ${LEASE_SECONDS} s); every line of 20 recorded once, marker "${recovered}"; expired 1, final gradings 1`);
  }, 180_000);
});
