// A server on PostgreSQL (OPSLAB_DATABASE_URL) instead of its SQLite file: a real PostgreSQL server (testcontainers,
// Debian's postgresql-15), a real engine. An interview from invite to review, every row in PostgreSQL and no SQLite
// file written; a second server on the same database shares the installation's id and sees the same attempt; a
// bad URL stops the server with the variable named and the password left out.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { repoRoot } from '../../server/src/paths.js';
import { api, attemptCookieToken } from '../helpers/api.js';
import { requireDocker } from '../helpers/docker.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { staffSession } from '../helpers/staff.js';
import { TestTerminal } from '../helpers/terminal-client.js';

const EXERCISES = path.join(repoRoot(), 'test/fixtures/unit-exercises');

describe('a server on PostgreSQL (real PostgreSQL, real engine)', () => {
  let postgres: TestPostgres;
  let url: string;
  let client: pg.Pool;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    await requireDocker();
    postgres = await startPostgres();
    url = await postgres.database('opslab_server');
    client = new pg.Pool({ connectionString: url, max: 2 });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.destroy()));
    await client?.end();
    await postgres?.stop();
  }, 60_000);

  const count = async (sql: string, params: unknown[] = []) => Number((await client.query(sql, params)).rows[0].n);

  it('runs an interview from invite to review with every row in PostgreSQL and no SQLite file', async () => {
    const server = await startTestServer({ env: { OPSLAB_DATABASE_URL: url, OPSLAB_EXERCISES_DIR: EXERCISES } });
    servers.push(server);
    expect(server.services.sqlite).toBeNull();
    expect(server.services.sql.dialect).toBe('postgres');
    expect(fs.existsSync(path.join(server.services.config.dataDir, 'opslab.db'))).toBe(false);

    const alice = await staffSession(server, 'interviewer', 'Alice Interviewer');
    const created = await fetch(`${server.url}/api/manage/invites`, {
      method: 'POST',
      headers: { ...alice.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ exerciseId: 'graded-demo', candidateName: 'Casey Candidate', candidateEmail: 'casey@example.test', showFeedback: true }),
    });
    expect(created.status).toBe(201);
    const invite = ((await created.json()) as { invite: { id: string; link: string } }).invite;
    const claim = await fetch(`${server.url}/api/invite/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${new URL(invite.link).hash.slice(1)}` },
    });
    expect(claim.status).toBe(201);
    const { attempt } = (await claim.json()) as { attempt: { id: string } };
    const token = attemptCookieToken(claim.headers, attempt.id);

    const term = await TestTerminal.connect(server.url, attempt.id, token);
    // Typed once the shell prompts: bash discards what arrives while it sets its terminal up.
    await term.waitFor(/[#$] /);
    term.type('echo "on""-postgres"\r');
    await term.waitFor('on-postgres');
    term.close();
    expect((await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token)).status).toBe(200);

    const bundle = await fetch(`${server.url}/api/manage/attempts/${attempt.id}`, { headers: alice.headers });
    expect(bundle.status).toBe(200);
    const body = (await bundle.json()) as { candidate: unknown; grading: { checks: unknown[] } | null; invite: { createdBy: { name: string } } };
    expect(body.candidate).toEqual({ name: 'Casey Candidate', email: 'casey@example.test' });
    expect(body.invite.createdBy.name).toBe('Alice Interviewer');
    expect(body.grading?.checks.length).toBeGreaterThan(0);

    // What the server wrote is in PostgreSQL: the attempt, its one final grading, its events, the audit entry.
    expect(await count('SELECT COUNT(*) AS n FROM attempts WHERE id = $1 AND state = $2', [attempt.id, 'archived'])).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM grading_runs WHERE attempt_id = $1 AND kind = 'final'", [attempt.id])).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM attempt_events WHERE attempt_id = $1 AND kind = 'submitted'", [attempt.id])).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'invite.create' AND invite_id = $1", [invite.id])).toBe(1);
    expect(fs.existsSync(path.join(server.services.config.dataDir, 'opslab.db'))).toBe(false);
  }, 180_000);

  it('gives a second server on the same database the same installation and the same attempts', async () => {
    const [first] = servers;
    const second = await startTestServer({ env: { OPSLAB_DATABASE_URL: url, OPSLAB_EXERCISES_DIR: EXERCISES } });
    servers.push(second);
    expect(second.services.instance).toBe(first!.services.instance);
    const bob = await staffSession(second, 'interviewer', 'Bob Interviewer');
    const list = await fetch(`${second.url}/api/manage/attempts`, { headers: bob.headers });
    expect(list.status).toBe(200);
    const { attempts } = (await list.json()) as { attempts: { candidateName: string; score: number | null }[] };
    expect(attempts).toEqual([expect.objectContaining({ candidateName: 'Casey Candidate' })]);
    expect(attempts[0]!.score).not.toBeNull();
  }, 120_000);

  it('refuses a URL that is not PostgreSQL, naming the variable and never the password', () => {
    expect(() => loadConfig({ OPSLAB_DATABASE_URL: 'mysql://u:hunter2@db/opslab' })).toThrow(/OPSLAB_DATABASE_URL.*postgres:\/\//);
    expect(() => loadConfig({ OPSLAB_DATABASE_URL: 'mysql://u:hunter2@db/opslab' })).not.toThrow(/hunter2/);
    expect(() => loadConfig({ OPSLAB_DATABASE_URL: 'postgres://u:hunter2@db' })).toThrow(/u:\*\*\*@db/);
    expect(loadConfig({ OPSLAB_DATABASE_URL: 'postgresql://u:p@db:5432/opslab' }).databaseUrl).toBe('postgresql://u:p@db:5432/opslab');
    expect(loadConfig({}).databaseUrl).toBeNull();
  });
});
