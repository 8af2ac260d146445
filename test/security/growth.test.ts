// Item 18, anonymous growth of disk and database: per-client limits on practice starts and new trainees; a data
// directory budget that refuses new practice before interviews; a shorter retention for practice attempts; final
// snapshots streamed to disk and cut at their size limit, so taking one never holds it in the server's memory.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { request } from '../helpers/api.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.js';
import { staffSession } from '../helpers/staff.js';
import { diffSnapshots } from '../../server/src/grading/snapshot.js';

const ITEM = '18 growth';
const MiB = 1024 * 1024;

interface Answer {
  status: number;
  body: any;
  retryAfter: string | null;
  cookies: string[];
}

async function call(server: TestServer, method: string, url: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const r = await request(server.url, method, url, headers, body);
  return { status: r.status, body: r.body, retryAfter: r.headers.get('retry-after'), cookies: r.headers.getSetCookie() };
}

/** An anonymous practice start (no practice cookie: a new trainee each time), from `client` behind the proxy. */
const anonymousStart = (server: TestServer, client?: string) =>
  call(server, 'POST', '/api/attempts', client ? { 'x-forwarded-for': client } : {}, { exerciseId: 'shell-warmup' });

/** An interview: an invite made by a signed-in interviewer, started with its token. */
async function interviewStart(server: TestServer): Promise<Answer> {
  const staff = await staffSession(server, 'interviewer');
  const made = await call(server, 'POST', '/api/manage/invites', staff.headers, {
    exerciseId: 'shell-warmup',
    candidateName: 'Casey',
    candidateEmail: 'casey@example.test',
    showFeedback: true,
  });
  expect(made.status).toBe(201);
  const token = new URL(made.body.invite.link).hash.slice(1);
  return call(server, 'POST', '/api/invite/start', { authorization: `Bearer ${token}` });
}

describe(`security 18: anonymous growth of disk and database (${SANDBOX_RUNTIME})`, () => {
  const servers: TestServer[] = [];
  const serve = async (env: Record<string, string>, dataDir?: string) => {
    const server = await startTestServer({ env, ...(dataDir ? { dataDir } : {}) });
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.destroy()));
  });
  afterAll(async () => {
    await Promise.all(servers.splice(0).map((s) => s.destroy()));
  });

  it('refuses a burst of anonymous starts from one client past its limit (429, Retry-After) while another client still starts', async () => {
    const server = await serve({
      // As behind a TLS proxy on the same host: the client's address comes from X-Forwarded-For.
      OPSLAB_TRUST_PROXY: '127.0.0.1',
      OPSLAB_PRACTICE_STARTS_PER_MINUTE: '4',
      OPSLAB_PRACTICE_STARTS_PER_HOUR: '20',
      OPSLAB_PRACTICE_NEW_TRAINEES_PER_HOUR: '3',
    });
    const burst = await Promise.all(Array.from({ length: 8 }, () => anonymousStart(server, '198.51.100.7')));
    const started = burst.filter((a) => a.status === 201);
    const refused = burst.filter((a) => a.status === 429);
    figure(ITEM, 'burst of 8 anonymous starts from one client: started', started.length);
    figure(ITEM, 'burst of 8 anonymous starts from one client: refused (429)', refused.length);
    expect(started.length).toBe(3);
    expect(refused.length).toBe(5);
    for (const a of refused) {
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
      expect(a.body.error.code).toBe('OPSLAB_ERR_START_RATE');
      expect(a.body.error.message).toMatch(/try again in \d+ s/);
      // A refused start made no trainee and no attempt.
      expect(a.cookies.some((c) => c.startsWith('opslab_practice='))).toBe(false);
    }
    const attempts = server.services.sqlite!.prepare(`SELECT COUNT(*) AS n FROM attempts WHERE mode = 'practice'`).get() as { n: number };
    expect(attempts.n).toBe(3);
    figure(ITEM, 'attempts stored after the burst', attempts.n);

    const other = await anonymousStart(server, '198.51.100.8');
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    figure(ITEM, 'another client during the refusal', `${other.status} (started)`);
  });

  it('refuses new practice attempts past the data budget minus the interview reserve (507), with room left for an interview', async () => {
    // 40 MB of recordings already kept, against a 64 MB budget of which 32 MB are kept for interviews.
    const dataDir = tempDataDir();
    fs.mkdirSync(path.join(dataDir, 'recordings'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'recordings', 'a_earlier.cast'), Buffer.alloc(40 * MiB, 'x'));
    const server = await serve({ OPSLAB_DATA_MAX_MB: '64', OPSLAB_DATA_INTERVIEW_RESERVE_MB: '32' }, dataDir);

    const health = await call(server, 'GET', '/api/health');
    expect(health.body.data).toMatchObject({ budgetMb: 64, interviewReserveMb: 32, newPractice: 'refused', newInterviews: 'ok' });
    expect(health.body.data.usedMb).toBeGreaterThanOrEqual(40);
    figure(ITEM, 'data used / budget / interview reserve (MB)', `${health.body.data.usedMb} / 64 / 32`);

    const practice = await anonymousStart(server);
    expect(practice.status).toBe(507);
    expect(practice.body.error.code).toBe('OPSLAB_ERR_STORAGE_FULL');
    expect(practice.body.error.message).toMatch(/no room left for new practice attempts/);
    figure(ITEM, 'practice start past budget - reserve', practice.status);
    const count = server.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM attempts').get() as { n: number };
    expect(count.n).toBe(0);

    const interview = await interviewStart(server);
    expect(interview.status, JSON.stringify(interview.body)).toBe(201);
    figure(ITEM, 'interview start within the reserve', interview.status);
  });

  it('purges practice attempts after OPSLAB_PRACTICE_RETENTION_DAYS, keeping interviews for OPSLAB_RETENTION_DAYS', async () => {
    const server = await serve({ OPSLAB_RETENTION_DAYS: '180', OPSLAB_PRACTICE_RETENTION_DAYS: '14' });
    const practice = await anonymousStart(server);
    expect(practice.status).toBe(201);
    const interview = await interviewStart(server);
    expect(interview.status).toBe(201);
    const ids = [practice.body.attempt.id as string, interview.body.attempt.id as string];
    for (const id of ids) await server.services.attempts.submit(id);
    const recording = server.services.attempts.recordingFile((await server.services.attempts.get(ids[0]!))!);
    expect(fs.existsSync(recording)).toBe(true);
    // (Read so that, without a budget, the test fails on the purge below rather than here.)
    const before = (await server.services.attempts.dataUsage?.())?.usedBytes;

    // Both ended 20 days ago.
    const ago = Date.now() - 20 * 86_400_000;
    for (const id of ids) server.services.sqlite!.prepare('UPDATE attempts SET ended_at = ? WHERE id = ?').run(ago, id);
    const report = await server.services.attempts.reconcile();
    expect(report.purged).toEqual([ids[0]]);
    expect(await server.services.attempts.get(ids[0]!)).toBeUndefined();
    expect(fs.existsSync(recording)).toBe(false);
    expect(fs.existsSync(path.join(server.dataDir, 'snapshots', ids[0]!))).toBe(false);
    expect((await server.services.attempts.get(ids[1]!))?.state).toBe('archived');
    figure(ITEM, 'practice attempt 20 days after it ended', 'purged (retention 14 days)');
    figure(ITEM, 'interview 20 days after it ended', 'kept (retention 180 days)');
    // The budget's running total gave back what the purge deleted.
    expect((await server.services.attempts.dataUsage()).usedBytes).toBeLessThan(before);
  });

  it("streams a large final snapshot to disk, cut at its size limit with a note, without holding it in the server's memory", async () => {
    const server = await serve({ OPSLAB_SNAPSHOT_MAX_MB: '192' });
    const started = await anonymousStart(server);
    expect(started.status).toBe(201);
    const id = started.body.attempt.id as string;
    const sandboxId = (await server.services.attempts.get(id))!.sandboxId!;
    // 224 MiB of incompressible files in the workspace (112 files of 2 MiB, the most a snapshot keeps of one).
    const written = 224 * MiB;
    const fill = await server.services.driver.exec(sandboxId, [
      'bash',
      '-c',
      'mkdir -p /root/work/big && for i in $(seq 1 112); do head -c 2097152 /dev/urandom > /root/work/big/f$i; done && du -sm /root/work/big',
    ]);
    expect(fill.exitCode, fill.stderr).toBe(0);

    // The diff's worker thread loads its code once (through tsx in tests, a fixed cost of tens of MiB that has
    // nothing to do with the snapshot's size): warmed up first, so the growth measured is the snapshot's.
    await diffSnapshots(Buffer.alloc(0), Buffer.alloc(0));
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      await server.services.attempts.submit(id);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const growth = peak - baseline;

    const file = path.join(server.dataDir, 'snapshots', id, 'final.tar');
    const stored = fs.statSync(file).size;
    figure(ITEM, 'files in the sandbox at submit', written / MiB, 'MiB');
    figure(ITEM, 'final snapshot stored (limit 192 MiB)', Math.round((stored / MiB) * 10) / 10, 'MiB');
    figure(ITEM, 'server RSS growth while taking and diffing it', Math.round((growth / MiB) * 10) / 10, 'MiB');
    expect(stored).toBeLessThan(193 * MiB);
    expect(stored).toBeGreaterThan(188 * MiB);
    expect(fs.existsSync(`${file}.part`)).toBe(false);
    // The review shows the cut: the diff says so first.
    const diff = server.services.attempts.snapshotDiff(id)!;
    expect(diff.diff.split('\n')[0]).toMatch(/^Snapshot cut at its size limit \(192 MiB\)/);
    expect(diff.diff).toMatch(/File \/root\/work\/big\/f\d+ added: not compared, the snapshot had reached its size limit/);
    const kept = server.services.sqlite!.prepare(`SELECT detail FROM attempt_events WHERE attempt_id = ? AND kind = 'snapshot-kept'`).get(id) as { detail: string };
    expect(JSON.parse(kept.detail)).toMatchObject({ cut: true });
    // Far below what was stored: the snapshot never sat whole in memory (held whole, it would be several times it).
    expect(growth).toBeLessThan(stored / 2);
  });
});
