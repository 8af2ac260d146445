// Invites, candidate access and the interviewer's review API on a real server and engine: who may do what.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { type TestServer, useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { TestTerminal, stripAnsi } from '../helpers/terminal-client.js';
import { api, attemptCookieToken } from '../helpers/api.js';

interface Call {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

async function call(
  server: TestServer,
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<Call> {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, text, headers: res.headers };
}

const tokenOf = (link: string) => new URL(link).hash.slice(1);

describe('invites, candidate access and review (real server, real engine)', () => {
  const server = useTestServer({
    env: { OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/unit-exercises') },
  });
  let alice: StaffSession;
  let bob: StaffSession;

  const invite = async (who: StaffSession, extra: Record<string, unknown> = {}) => {
    const res = await call(server, 'POST', '/api/manage/invites', {
      headers: who.headers,
      body: { exerciseId: 'graded-demo', candidateName: 'Casey Candidate', candidateEmail: 'casey@example.test', showFeedback: true, ...extra },
    });
    expect(res.status, res.text).toBe(201);
    return res.body.invite as { id: string; link: string; status: string; timeLimitSeconds: number };
  };
  const start = async (token: string) => call(server, 'POST', '/api/invite/start', { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    alice = await staffSession(server, 'interviewer', 'Alice Interviewer');
    bob = await staffSession(server, 'interviewer', 'Bob Interviewer');
  });

  it('takes a candidate from invite link to a graded attempt, with the token good for that attempt only', async () => {
    const inv = await invite(alice, { timeLimitMinutes: 20, note: 'second round' });
    expect(inv.status).toBe('pending');
    expect(inv.timeLimitSeconds).toBe(1200);
    const token = tokenOf(inv.link);
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);

    // The link is shown once, at creation: the list holds neither it nor its token.
    const list = await call(server, 'GET', '/api/manage/invites', { headers: alice.headers });
    expect(list.body.invites.find((i: { id: string }) => i.id === inv.id)).toMatchObject({ claimed: false, canManage: true });
    expect(list.text).not.toContain(token);
    expect(list.text).not.toContain('/invite#');

    const landing = await call(server, 'GET', '/api/invite', { headers: { authorization: `Bearer ${token}` } });
    expect(landing.status).toBe(200);
    expect(landing.body.invite).toMatchObject({ candidateName: 'Casey Candidate', state: 'pending', timeLimitSeconds: 1200 });
    expect(landing.body.invite.rules.length).toBeGreaterThan(2);
    expect(landing.text).not.toContain('casey@example.test');
    expect(landing.text).not.toContain('second round');

    const started = await start(token);
    expect(started.status, started.text).toBe(201);
    const attempt = started.body.attempt;
    expect(attempt).toMatchObject({ state: 'running', mode: 'interview', checksAllowed: true, hintsAllowed: true });
    // The claim gives this browser the attempt's own token, as an HttpOnly cookie and nowhere else.
    const own = attemptCookieToken(started.headers, attempt.id);
    expect(own).not.toBe(token);
    expect(started.text).not.toContain(own);
    expect(started.headers.getSetCookie().find((c) => c.startsWith(`opslab_attempt_${attempt.id}=`))).toMatch(/HttpOnly/i);
    // The link is claimed: starting again gives no credential, and the link opens no attempt route.
    const again = await start(token);
    expect(again.status).toBe(409);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}`, token)).status).toBe(404);
    expect((await call(server, 'GET', '/api/invite', { headers: { authorization: `Bearer ${token}` } })).body.invite).toMatchObject({
      state: 'running',
      claimed: true,
    });

    // The attempt's own token opens the attempt routes and the terminal.
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}`, own)).status).toBe(200);
    const term = await TestTerminal.connect(server.url, attempt.id, own);
    await term.waitFor(/[#$] /);
    term.type('echo "jour""ney-ok"; ls /root/work\r');
    await term.waitFor('journey-ok');

    // Checks: candidates see verdicts, and messages only of visible checks; never the interviewer's details.
    const checks = await api(server.url, 'POST', `/api/attempts/${attempt.id}/checks`, own);
    expect(checks.status, checks.text).toBe(200);
    expect(checks.text).not.toContain('interviewer detail');
    expect(checks.body.results.checks.find((c: { id: string }) => c.id === 'b').message).toBeNull();

    // The candidate's tokens open none of the interviewer's routes, with or without the cookie.
    for (const url of [`/api/manage/attempts/${attempt.id}`, `/api/manage/attempts/${attempt.id}/recording`, '/api/manage/invites', '/api/manage/attempts']) {
      for (const t of [token, own]) {
        expect((await call(server, 'GET', url, { headers: { authorization: `Bearer ${t}` } })).status).toBe(401);
        expect((await call(server, 'GET', url, { headers: { cookie: `opslab_attempt_${attempt.id}=${t}` } })).status).toBe(401);
      }
    }

    // Interviewers watch live, read-only.
    const live = await TestTerminal.open(`${server.url}/api/manage/attempts/${attempt.id}/live`, { cookie: alice.cookie });
    await live.waitFor('journey-ok');
    live.type('echo typed-by-viewer\r');
    term.type('echo "still""-mine"\r');
    await live.waitFor('still-mine');
    expect(stripAnsi(term.text)).not.toContain('typed-by-viewer');
    expect(live.controls.some((c) => c.type === 'notice' && c.code === 'read_only')).toBe(true);
    // The candidate's window was not replaced by the viewer.
    term.type('echo "cand""idate-still-connected"\r');
    await term.waitFor('candidate-still-connected');

    // Extending the time moves the deadline and tells the candidate's page.
    const before = Date.parse(attempt.deadline);
    const extended = await call(server, 'POST', `/api/manage/invites/${inv.id}/extend`, { headers: alice.headers, body: { minutes: 15 } });
    expect(extended.status, extended.text).toBe(200);
    const after = (await api(server.url, 'GET', `/api/attempts/${attempt.id}`, own)).body.attempt;
    expect(Date.parse(after.deadline) - before).toBe(15 * 60_000);
    await term.waitFor(() => term.controls.some((c) => c.type === 'attempt' && (c.attempt as { deadline: string }).deadline === after.deadline));

    const submitted = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, own);
    expect(submitted.status).toBe(200);
    term.close();
    live.close();

    // The review bundle: grade with every check's details and first pass, events, scorecard, no reviews yet.
    const bundle = await call(server, 'GET', `/api/manage/attempts/${attempt.id}`, { headers: bob.headers });
    expect(bundle.status, bundle.text).toBe(200);
    expect(bundle.body.candidate).toEqual({ name: 'Casey Candidate', email: 'casey@example.test' });
    expect(bundle.body.invite).toMatchObject({ note: 'second round', createdBy: { name: 'Alice Interviewer' } });
    expect(bundle.body.grading.checks.map((c: { id: string }) => c.id)).toEqual(['a', 'b']);
    expect(bundle.body.grading.checks[0].firstPassedAt).not.toBeNull();
    expect(bundle.body.events.map((e: { kind: string }) => e.kind)).toEqual(
      expect.arrayContaining(['started', 'checks', 'extended', 'submitted', 'graded']),
    );
    expect(bundle.body.scorecard).toHaveLength(8);
    expect(bundle.body.scorecard.reduce((n: number, d: { weight: number }) => n + d.weight, 0)).toBe(100);
    const diff = await call(server, 'GET', `/api/manage/attempts/${attempt.id}/diff`, { headers: bob.headers });
    expect(diff.status).toBe(200);
    const rec = await call(server, 'GET', `/api/manage/attempts/${attempt.id}/recording`, { headers: bob.headers });
    expect(rec.text).toContain('journey-ok');
    // The commands the candidate ran, from the shell's own marks, on the recording's clock.
    const commands = await call(server, 'GET', `/api/manage/attempts/${attempt.id}/commands`, { headers: bob.headers });
    expect(commands.status, commands.text).toBe(200);
    expect(commands.body.source).toBe('shell');
    const ran = commands.body.commands.find((c: { command: string }) => c.command.includes('jour""ney-ok'));
    expect(ran).toMatchObject({ exitCode: 0, source: 'shell' });
    expect(ran.startedAt).toBeGreaterThan(0);
    // Interview candidates do not get the timeline (practice trainees do).
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}/commands`, own)).status).toBe(403);
    // The exports: JSON with everything, and one HTML file.
    const json = await call(server, 'GET', `/api/manage/attempts/${attempt.id}/export.json`, { headers: bob.headers });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-disposition')).toContain('attachment');
    expect(json.body.bundle.candidate.name).toBe('Casey Candidate');
    expect(json.body.commands.commands.length).toBeGreaterThan(0);
    expect(json.body.cast).toContain('journey-ok');
    const html = await call(server, 'GET', `/api/manage/attempts/${attempt.id}/export.html`, { headers: bob.headers });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(html.text).toContain('Casey Candidate');
    expect(html.text).not.toMatch(/(src|href)="https?:/);

    // Each interviewer keeps their own review.
    const put = (who: StaffSession, body: unknown) =>
      call(server, 'PUT', `/api/manage/attempts/${attempt.id}/review`, { headers: who.headers, body });
    const mine = await put(alice, {
      ratings: { 'linux-networking': { rating: 4, notes: 'fluent' }, scripting: { rating: 2, notes: '' } },
      recommendation: 'yes',
      summary: 'Solid.',
    });
    expect(mine.status, mine.text).toBe(200);
    expect(mine.body.review).toMatchObject({ mine: true, recommendation: 'yes', weightedScore: 3 });
    expect((await put(bob, { ratings: {}, recommendation: 'no', summary: '' })).status).toBe(200);
    expect((await put(bob, { ratings: { scripting: { rating: 5, notes: '' } }, recommendation: null, summary: '' })).status).toBe(400);
    expect((await put(bob, { ratings: { juggling: { rating: 2, notes: '' } }, recommendation: null, summary: '' })).status).toBe(400);
    const reviews = (await call(server, 'GET', `/api/manage/attempts/${attempt.id}`, { headers: alice.headers })).body.reviews;
    expect(reviews.map((r: { reviewer: { name: string }; mine: boolean }) => [r.reviewer.name, r.mine])).toEqual([
      ['Alice Interviewer', true],
      ['Bob Interviewer', false],
    ]);

    // The candidate's link now says it is finished, and the attempt routes still answer (the done page).
    const done = await call(server, 'GET', '/api/invite', { headers: { authorization: `Bearer ${token}` } });
    expect(done.body.invite.state).toBe('finished');
  });

  it("refuses one attempt's token for another attempt, and revoked or expired invites", async () => {
    const a = await invite(alice);
    const b = await invite(alice);
    const ta = tokenOf(a.link);
    const tb = tokenOf(b.link);
    const startedA = await start(ta);
    const startedB = await start(tb);
    const sa = startedA.body.attempt;
    const sb = startedB.body.attempt;
    // Each attempt's own token (the browser's cookie after the claim).
    const oa = attemptCookieToken(startedA.headers, sa.id);
    const ob = attemptCookieToken(startedB.headers, sb.id);
    expect((await api(server.url, 'GET', `/api/attempts/${sb.id}`, oa)).status).toBe(404);
    expect(await TestTerminal.refusedStatus(`${server.url}/api/attempts/${sb.id}/terminal`, { authorization: `Bearer ${oa}` })).toBe(404);

    // Revoking ends the running attempt and kills the token everywhere, before any upgrade.
    const revoked = await call(server, 'POST', `/api/manage/invites/${a.id}/revoke`, { headers: alice.headers });
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.invite.status).toBe('revoked');
    expect((await call(server, 'GET', '/api/invite', { headers: { authorization: `Bearer ${ta}` } })).status).toBe(410);
    expect((await start(ta)).status).toBe(410);
    expect((await api(server.url, 'GET', `/api/attempts/${sa.id}`, oa)).status).toBe(410);
    expect(await TestTerminal.refusedStatus(`${server.url}/api/attempts/${sa.id}/terminal`, { authorization: `Bearer ${oa}` })).toBe(410);
    const ended = (await server.services.attempts.get(sa.id))!;
    expect(ended.endReason).toBe('revoked');
    expect((await server.services.reviews.bundle(sa.id, alice.user.id)).grading).not.toBeNull();
    expect((await call(server, 'POST', `/api/manage/invites/${a.id}/revoke`, { headers: alice.headers })).status).toBe(409);

    // An invite past its expiry without being started is refused.
    const c = await invite(alice);
    server.services.sqlite!.prepare('UPDATE invites SET expires_at = ? WHERE id = ?').run(Date.now() - 1000, c.id);
    expect((await call(server, 'GET', '/api/invite', { headers: { authorization: `Bearer ${tokenOf(c.link)}` } })).status).toBe(410);
    expect((await start(tokenOf(c.link))).status).toBe(410);
    const listed = await call(server, 'GET', '/api/manage/invites?status=expired', { headers: alice.headers });
    expect(listed.body.invites.map((i: { id: string }) => i.id)).toContain(c.id);

    // Unknown and malformed tokens.
    expect((await call(server, 'GET', '/api/invite')).status).toBe(401);
    expect((await call(server, 'GET', '/api/invite', { headers: { authorization: 'Bearer x' } })).status).toBe(401);
    expect((await call(server, 'GET', '/api/invite', { headers: { authorization: `Bearer ${'A'.repeat(43)}` } })).status).toBe(404);
    await api(server.url, 'POST', `/api/attempts/${sb.id}/submit`, ob);
  });

  it('turns checks and hints off when the invite hides feedback', async () => {
    const inv = await invite(alice, { showFeedback: false });
    const started = await start(tokenOf(inv.link));
    const attempt = started.body.attempt;
    const token = attemptCookieToken(started.headers, attempt.id);
    expect(attempt).toMatchObject({ checksAllowed: false, hintsAllowed: false });
    const checks = await api(server.url, 'POST', `/api/attempts/${attempt.id}/checks`, token);
    expect(checks.status).toBe(403);
    expect(checks.body.error.code).toBe('OPSLAB_ERR_NO_FEEDBACK');
    expect((await api(server.url, 'POST', `/api/attempts/${attempt.id}/hints`, token)).status).toBe(403);
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}/hints`, token)).body.hints).toEqual({ revealed: [], total: 0 });
    await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
  });

  it('checks every staff route: no session 401, missing CSRF 403, bad input 400, and nothing changes', async () => {
    const inv = await invite(alice);
    const routes: [string, string, unknown?][] = [
      ['GET', '/api/manage/invites'],
      ['POST', '/api/manage/invites', { exerciseId: 'graded-demo', candidateName: 'X', candidateEmail: 'x@example.test', showFeedback: true }],
      ['POST', `/api/manage/invites/${inv.id}/revoke`],
      ['POST', `/api/manage/invites/${inv.id}/extend`, { minutes: 5 }],
      ['POST', `/api/manage/invites/${inv.id}/reissue`],
      ['GET', '/api/manage/attempts'],
      ['GET', '/api/manage/attempts/a_00000000000000000000'],
      ['PUT', '/api/manage/attempts/a_00000000000000000000/review', { ratings: {}, recommendation: null, summary: '' }],
      ['DELETE', '/api/manage/attempts/a_00000000000000000000'],
      ['POST', '/api/manage/attempts/a_00000000000000000000/regrade'],
      ['POST', '/api/manage/exercises/graded-demo/regrade'],
    ];
    const count = () => (server.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM invites').get() as { n: number }).n;
    const n = count();
    for (const [method, url, body] of routes) {
      expect((await call(server, method, url, { body })).status, `${method} ${url}`).toBe(401);
      if (method !== 'GET') {
        expect((await call(server, method, url, { headers: { cookie: alice.cookie }, body })).status, `${method} ${url}`).toBe(403);
      }
    }
    expect(count()).toBe(n);
    expect((await server.services.invites.get(inv.id))!.revokedAt).toBeNull();

    const bad = async (method: string, url: string, body?: unknown) => {
      const res = await call(server, method, url, { headers: alice.headers, body });
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}: ${res.text}`).toBe(400);
      expect(res.body.error.message).toBeTruthy();
    };
    await bad('POST', '/api/manage/invites', { exerciseId: 'graded-demo', candidateName: 'X', candidateEmail: 'not-an-email', showFeedback: true });
    await bad('POST', '/api/manage/invites', { exerciseId: 'graded-demo', candidateName: 'X', candidateEmail: 'x@example.test', showFeedback: 'yes' });
    await bad('POST', '/api/manage/invites', { exerciseId: '../etc', candidateName: 'X', candidateEmail: 'x@example.test', showFeedback: true });
    await bad('POST', '/api/manage/invites', { exerciseId: 'graded-demo', candidateName: 'X', candidateEmail: 'x@example.test', showFeedback: true, timeLimitMinutes: 0 });
    await bad('POST', `/api/manage/invites/${inv.id}/extend`, { minutes: '5' });
    await bad('GET', '/api/manage/attempts?page=0');
    await bad('GET', '/api/manage/attempts?sort=password');
    await bad('GET', '/api/manage/attempts/..%2F..%2Fetc');
    await bad('POST', '/api/manage/attempts/..%2F..%2Fetc/regrade');
    // Every attempt of an exercise is regraded by admins only.
    expect((await call(server, 'POST', '/api/manage/exercises/graded-demo/regrade', { headers: alice.headers })).status).toBe(403);
    expect(count()).toBe(n);
    const unknown = await call(server, 'POST', '/api/manage/invites', {
      headers: alice.headers,
      body: { exerciseId: 'no-such-exercise', candidateName: 'X', candidateEmail: 'x@example.test', showFeedback: true },
    });
    expect(unknown.status).toBe(404);
  });

  it('lists, filters, sorts and pages the dashboard, and deletes an attempt with its data', async () => {
    const all = await call(server, 'GET', '/api/manage/attempts?pageSize=2&page=1&sort=createdAt&order=asc', { headers: alice.headers });
    expect(all.status, all.text).toBe(200);
    expect(all.body.total).toBeGreaterThanOrEqual(3);
    expect(all.body.attempts).toHaveLength(2);
    const times = all.body.attempts.map((a: { createdAt: string }) => Date.parse(a.createdAt));
    expect(times[0]).toBeLessThanOrEqual(times[1]);
    const page2 = await call(server, 'GET', '/api/manage/attempts?pageSize=2&page=2&sort=createdAt&order=asc', { headers: alice.headers });
    expect(page2.body.attempts[0].id).not.toBe(all.body.attempts[1].id);

    const graded = await call(server, 'GET', '/api/manage/attempts?minScore=1&sort=score', { headers: alice.headers });
    expect(graded.body.attempts.length).toBeGreaterThan(0);
    for (const a of graded.body.attempts) expect(a.score).toBeGreaterThan(0);
    const byState = await call(server, 'GET', '/api/manage/attempts?state=archived', { headers: alice.headers });
    for (const a of byState.body.attempts) expect(a.state).toBe('archived');
    expect(byState.body.attempts[0]).toMatchObject({ candidateName: 'Casey Candidate', interviewer: { name: 'Alice Interviewer' } });
    const mineOnly = await call(server, 'GET', `/api/manage/attempts?interviewer=${bob.user.id}`, { headers: alice.headers });
    expect(mineOnly.body.total).toBe(0);

    const victim = byState.body.attempts[0].id as string;
    const recording = path.join(server.dataDir, 'recordings', `${victim}.cast`);
    expect(fs.existsSync(recording)).toBe(true);
    const del = await call(server, 'DELETE', `/api/manage/attempts/${victim}`, { headers: alice.headers });
    expect(del.status, del.text).toBe(204);
    expect((await call(server, 'GET', `/api/manage/attempts/${victim}`, { headers: alice.headers })).status).toBe(404);
    expect(fs.existsSync(recording)).toBe(false);
    expect(fs.existsSync(path.join(server.dataDir, 'snapshots', victim))).toBe(false);
    const audit = server.services.sqlite!
      .prepare('SELECT action FROM audit_log WHERE attempt_id = ?')
      .all(victim) as { action: string }[];
    expect(audit.map((a) => a.action)).toContain('attempt.delete');
  });
});
