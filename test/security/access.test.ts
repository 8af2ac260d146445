// Item 7: who may open what, and that refusals happen before any WebSocket upgrade.
//
// Already proven elsewhere (not repeated case by case here): test/integration/terminal.test.ts "refuses forged
// origins, missing and wrong tokens before the upgrade" (candidate terminal: foreign and null Origin 403, no token
// 401, another attempt's token 404, unknown id 404); test/integration/journeys-api.test.ts "refuses one attempt's
// token for another attempt, and revoked or expired invites" (invite tokens across attempts, revoked 410 on the
// routes and the terminal, an expired invite 410); test/integration/practice-api.test.ts (a practice token opens
// its own attempts only, and GET staff routes answer 401 to it); test/integration/auth.test.ts (CSRF, roles,
// Bearer tokens are never sessions, expiry of sessions in the service).
//
// Added here, as one matrix: every credential that is not a staff session (practice cookie, attempt token, invite
// token, an expired, a logged-out and a disabled user's session, a forged one) against every interviewer route
// including the live view's WebSocket; tokens of attempt A against attempt B (interview and practice, both ways)
// on every attempt route and the terminal; ended attempts; foreign Origins on both WebSockets; tokens in the URL.
// Each WebSocket refusal is a plain HTTP answer, and the terminal behind it sees no connection at all.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { repoRoot } from '../../server/src/paths.js';
import { type TestServer, useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { TestTerminal } from '../helpers/terminal-client.js';
import { figure } from '../helpers/figures.js';
import { attemptCookieToken, request } from '../helpers/api.js';

const ITEM = '7 access';
type Headers = Record<string, string>;

const call = (server: TestServer, method: string, url: string, headers: Headers = {}, body?: unknown) => request(server.url, method, url, headers, body);

describe('access: refused before anything happens (real server, real engine)', () => {
  const server = useTestServer({ env: { OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/unit-exercises') } });
  let alice: StaffSession;
  // Two interview attempts (candidates A and B), one practice attempt (trainee P), all running.
  // token: the attempt's own (the browser's cookie after the claim); inviteToken: the invite link's claim token.
  let a: { id: string; token: string; inviteToken: string };
  let b: { id: string; token: string; inviteToken: string };
  let p: { id: string; token: string; cookie: string };
  const refusals: { label: string; status: number; ms: number }[] = [];

  const invite = async () => {
    const res = await call(server, 'POST', '/api/manage/invites', alice.headers, {
      exerciseId: 'graded-demo',
      candidateName: 'Casey',
      candidateEmail: 'casey@example.test',
      showFeedback: true,
    });
    expect(res.status, res.text).toBe(201);
    const inviteToken = new URL(res.body.invite.link).hash.slice(1);
    const started = await fetch(`${server.url}/api/invite/start`, { method: 'POST', headers: { authorization: `Bearer ${inviteToken}` } });
    expect(started.status).toBe(201);
    const id = ((await started.json()) as { attempt: { id: string } }).attempt.id;
    return { id, token: attemptCookieToken(started.headers, id), inviteToken, inviteId: res.body.invite.id as string };
  };

  /** An HTTP call that must be refused with `status` (and an error body). */
  const refused = async (label: string, status: number, method: string, url: string, headers: Headers, body?: unknown) => {
    const t0 = Date.now();
    const res = await call(server, method, url, headers, body);
    refusals.push({ label, status: res.status, ms: Date.now() - t0 });
    expect(res.status, `${label}: ${method} ${url} -> ${res.text.slice(0, 200)}`).toBe(status);
    expect(typeof res.body?.error?.code, label).toBe('string');
  };
  /** A WebSocket that must be refused with a plain HTTP `status`, before the upgrade. */
  const refusedWs = async (label: string, status: number, url: string, headers: Headers) => {
    const t0 = Date.now();
    const got = await TestTerminal.refusedStatus(`${server.url}${url}`, headers);
    refusals.push({ label, status: got, ms: Date.now() - t0 });
    expect(got, `${label}: ${url}`).toBe(status);
  };

  /** 'reconnected' markers in an attempt's recording: one per candidate connection after the first. */
  const connections = async (id: string) => {
    server.services.attempts.flushRecording(id);
    const file = server.services.attempts.recordingFile((await server.services.attempts.get(id))!);
    const cast = parseAsciicast(fs.readFileSync(file, 'utf8'));
    return cast.events.filter((e) => e[1] === 'm' && (e[2] === 'reconnected' || e[2] === 'adopted')).length;
  };

  beforeAll(async () => {
    alice = await staffSession(server, 'interviewer', 'Alice');
    a = await invite();
    b = await invite();
    const started = await fetch(`${server.url}/api/attempts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ exerciseId: 'graded-demo' }),
    });
    const json = (await started.json()) as { attempt: { id: string }; token: string };
    const cookie = started.headers.getSetCookie().find((c) => c.startsWith('opslab_practice='))!.split(';')[0]!;
    p = { id: json.attempt.id, token: json.token, cookie };
    // Each candidate's terminal was opened once (the first connection), so any later one would be counted.
    for (const x of [a, b]) {
      const t = await TestTerminal.connect(server.url, x.id, x.token);
      t.close();
      await t.closed;
    }
    const t = await TestTerminal.open(`${server.url}/api/attempts/${p.id}/terminal`, { cookie: p.cookie });
    t.close();
    await t.closed;
  });

  it('no credential but a staff session opens an interviewer route or the live view', async () => {
    const before = await Promise.all([a, b, p].map((x) => connections(x.id)));
    // Sessions that no longer count: expired, logged out, of a disabled user; and a forged one.
    const expired = await staffSession(server, 'interviewer');
    server.services.sqlite!.prepare('UPDATE sessions SET expires_at = ? WHERE user_id = ?').run(Date.now() - 1000, expired.user.id);
    const loggedOut = await staffSession(server, 'interviewer');
    expect((await call(server, 'POST', '/api/auth/logout', loggedOut.headers)).status).toBe(204);
    const disabled = await staffSession(server, 'interviewer');
    const admin = await staffSession(server, 'admin');
    expect((await call(server, 'POST', `/api/manage/users/${disabled.user.id}/disable`, admin.headers)).status).toBe(200);

    const credentials: [string, Headers][] = [
      ['no credential', {}],
      ['practice cookie', { cookie: p.cookie }],
      ['practice attempt token', { authorization: `Bearer ${p.token}` }],
      ['attempt token', { authorization: `Bearer ${a.token}` }],
      ['attempt token as a cookie', { cookie: `opslab_attempt_${a.id}=${a.token}` }],
      ['invite token', { authorization: `Bearer ${a.inviteToken}` }],
      ['expired session', expired.headers],
      ['logged-out session', loggedOut.headers],
      ["disabled user's session", disabled.headers],
      ['forged session', { cookie: 'opslab_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'x-csrf-token': 'x' }],
    ];
    const allRoutes: [string, string, unknown?][] = [
      ['GET', '/api/manage/invites'],
      ['POST', '/api/manage/invites', { exerciseId: 'graded-demo', candidateName: 'X', candidateEmail: 'x@example.test', showFeedback: true }],
      ['POST', `/api/manage/invites/i_00000000000000000000/revoke`],
      ['POST', `/api/manage/invites/i_00000000000000000000/extend`, { minutes: 5 }],
      ['GET', '/api/manage/attempts'],
      ['GET', `/api/manage/attempts/${a.id}`],
      ['GET', `/api/manage/attempts/${a.id}/recording`],
      ['GET', `/api/manage/attempts/${a.id}/commands`],
      ['GET', `/api/manage/attempts/${a.id}/diff`],
      ['PUT', `/api/manage/attempts/${a.id}/review`, { ratings: {}, recommendation: null, summary: '' }],
      ['GET', `/api/manage/attempts/${a.id}/export.html`],
      ['GET', `/api/manage/attempts/${a.id}/export.json`],
      ['DELETE', `/api/manage/attempts/${p.id}`],
      ['GET', '/api/manage/users'],
      ['POST', '/api/manage/users', { email: 'y@example.test', name: 'Y', role: 'admin' }],
      ['POST', `/api/manage/users/${alice.user.id}/disable`],
      ['GET', '/api/manage/audit'],
    ];
    // Routes of the contract this server has (a route still missing would answer 404 to everyone).
    const pattern = (url: string) => url.replace(/\/(a|i|u)_[0-9a-f]{20}(?=\/|$)/g, '/:id');
    const routes = allRoutes.filter(([method, url]) => server.app.hasRoute({ method: method as 'GET', url: pattern(url) }));
    expect(routes.length).toBeGreaterThanOrEqual(14);
    const invitesBefore = (server.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM invites').get() as { n: number }).n;
    for (const [label, headers] of credentials) {
      for (const [method, url, body] of routes) await refused(label, 401, method, url, headers, body);
      for (const x of [a, p]) await refusedWs(`${label} (live view)`, 401, `/api/manage/attempts/${x.id}/live`, headers);
    }
    // A real session from a foreign page: the live view and every change are refused too.
    const evil = { ...alice.headers, origin: 'https://evil.example.com' };
    await refusedWs('foreign Origin (live view)', 403, `/api/manage/attempts/${a.id}/live`, evil);
    await refusedWs('null Origin (live view)', 403, `/api/manage/attempts/${a.id}/live`, { ...alice.headers, origin: 'null' });
    for (const [method, url, body] of routes.filter(([m]) => m !== 'GET')) {
      await refused('foreign Origin', 403, method, url, evil, body);
    }

    // Nothing happened: no invite, no user, nothing deleted, nobody watched.
    expect((server.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM invites').get() as { n: number }).n).toBe(invitesBefore);
    expect((await server.services.attempts.get(p.id))?.state).toBe('running');
    expect((await server.services.auth.listUsers()).find((u) => u.id === alice.user.id)?.disabled).toBe(false);
    for (const x of [a, p]) {
      const terminal = await server.services.attempts.terminalFor((await server.services.attempts.get(x.id))!);
      expect(terminal.viewerCount).toBe(0);
    }
    expect(await Promise.all([a, b, p].map((x) => connections(x.id)))).toEqual(before);
    // The same session, in order, is let in: the refusals were about the credential, not the route.
    const ok = await TestTerminal.open(`${server.url}/api/manage/attempts/${a.id}/live`, alice.headers);
    ok.close();
  });

  it("attempt A's token never opens attempt B: every attempt route and the terminal, interview and practice", async () => {
    const before = await Promise.all([a, b, p].map((x) => connections(x.id)));
    const attemptRoutes: [string, string][] = [
      ['GET', ''],
      ['POST', '/submit'],
      ['POST', '/restart-shell'],
      ['POST', '/checks'],
      ['POST', '/reset'],
      ['GET', '/solution'],
      ['GET', '/grading'],
      ['GET', '/hints'],
      ['POST', '/hints'],
      ['GET', '/recording'],
      ['GET', '/files'],
      ['GET', '/download?path=/root/work/x'],
      ['GET', '/workspace.tar.gz'],
    ];
    const pairs: [string, Headers, string][] = [
      ["A's attempt token on B", { authorization: `Bearer ${a.token}` }, b.id],
      ["A's attempt token as B's cookie", { cookie: `opslab_attempt_${b.id}=${a.token}` }, b.id],
      ["A's attempt token on the practice attempt", { authorization: `Bearer ${a.token}` }, p.id],
      ["A's claimed invite link on A", { authorization: `Bearer ${a.inviteToken}` }, a.id],
      ["A's claimed invite link as A's cookie", { cookie: `opslab_attempt_${a.id}=${a.inviteToken}` }, a.id],
      ["the practice attempt's token on A", { authorization: `Bearer ${p.token}` }, a.id],
      ['the practice cookie on A', { cookie: p.cookie }, a.id],
      ['a session on an attempt route', alice.headers, a.id],
      ['a well-formed unknown token', { authorization: `Bearer ${'A'.repeat(43)}` }, a.id],
    ];
    for (const [label, headers, target] of pairs) {
      for (const [method, suffix] of attemptRoutes) {
        const expected = label === 'a session on an attempt route' ? 401 : 404;
        await refused(label, expected, method, `/api/attempts/${target}${suffix}`, headers);
      }
      await refusedWs(label, label === 'a session on an attempt route' ? 401 : 404, `/api/attempts/${target}/terminal`, headers);
    }
    // Tokens never travel in URLs: a query string token is no token.
    await refusedWs('token in the query string', 401, `/api/attempts/${a.id}/terminal?token=${a.token}`, {});
    await refused('token in the query string', 401, 'GET', `/api/attempts/${a.id}?token=${a.token}`, {});
    // A foreign page holding the right token: refused before the upgrade and for changes.
    await refusedWs('foreign Origin, right token', 403, `/api/attempts/${a.id}/terminal`, {
      authorization: `Bearer ${a.token}`,
      origin: 'https://evil.example.com',
    });
    await refusedWs('lookalike Origin, right token', 403, `/api/attempts/${a.id}/terminal`, {
      authorization: `Bearer ${a.token}`,
      origin: `${server.url}.evil.example.com`,
    });

    // Nothing changed: every attempt runs, no terminal saw a connection.
    for (const x of [a, b, p]) expect((await server.services.attempts.get(x.id))?.state).toBe('running');
    expect((await server.services.attempts.get(a.id))?.hintsRevealed).toBe(0);
    expect(await Promise.all([a, b, p].map((x) => connections(x.id)))).toEqual(before);
  });

  it('an ended attempt and a withdrawn invite: their tokens open no terminal and change nothing', async () => {
    const submitted = await call(server, 'POST', `/api/attempts/${b.id}/submit`, { authorization: `Bearer ${b.token}` });
    expect(submitted.status, submitted.text).toBe(200);
    await refusedWs('ended attempt', 410, `/api/attempts/${b.id}/terminal`, { authorization: `Bearer ${b.token}` });
    await refusedWs('ended attempt (live view)', 410, `/api/manage/attempts/${b.id}/live`, alice.headers);
    await refused('ended attempt', 409, 'POST', `/api/attempts/${b.id}/submit`, { authorization: `Bearer ${b.token}` });
    await refused('ended attempt', 409, 'POST', `/api/attempts/${b.id}/hints`, { authorization: `Bearer ${b.token}` });
    // The practice attempt ends, its cookie still opens its own (ended) attempt but no terminal.
    expect((await call(server, 'POST', `/api/attempts/${p.id}/submit`, { cookie: p.cookie })).status).toBe(200);
    await refusedWs('ended practice attempt', 410, `/api/attempts/${p.id}/terminal`, { cookie: p.cookie });
    await refused('ended practice attempt', 409, 'POST', `/api/attempts/${p.id}/reset`, { cookie: p.cookie });

    const inviteA = server.services.sqlite!.prepare('SELECT id FROM invites WHERE attempt_id = ?').get(a.id) as { id: string };
    expect((await call(server, 'POST', `/api/manage/invites/${inviteA.id}/revoke`, alice.headers)).status).toBe(200);
    await refusedWs('withdrawn invite', 410, `/api/attempts/${a.id}/terminal`, { authorization: `Bearer ${a.token}` });
    await refused('withdrawn invite', 410, 'GET', `/api/attempts/${a.id}/recording`, { authorization: `Bearer ${a.token}` });
    await refused('withdrawn invite', 410, 'POST', '/api/invite/start', { authorization: `Bearer ${a.inviteToken}` });

    const byStatus = refusals.reduce<Record<number, number>>((acc, r) => ((acc[r.status] = (acc[r.status] ?? 0) + 1), acc), {});
    const ms = refusals.map((r) => r.ms).sort((x, y) => x - y);
    figure(ITEM, 'requests and upgrades refused (all of them)', refusals.length);
    figure(ITEM, 'refusals by status', Object.entries(byStatus).map(([k, v]) => `${k}:${v}`).join(' '));
    figure(ITEM, 'refusal time, median / max', `${ms[Math.floor(ms.length / 2)]} / ${ms[ms.length - 1]}`, 'ms');
  });
});
