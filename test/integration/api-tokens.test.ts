// API tokens through the real HTTP API: creation (secret shown once, only its SHA-256 stored), bearer use without
// CSRF on the routes of its scopes, refusals (other scopes, sessions' routes, cookies, candidates' routes), revoked,
// expired and unknown tokens, the audit log under the token's name, and invites owned by the token's admin.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { attemptCookieToken, request } from '../helpers/api.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('API tokens (real server, real SQLite file)', () => {
  const server = useTestServer({ env: { OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/unit-exercises') } });
  let admin: StaffSession;
  let interviewer: StaffSession;

  const call = (method: string, url: string, headers: Record<string, string> = {}, body?: unknown) =>
    request(server.url, method, url, headers, body);
  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
  const createToken = async (name: string, scopes: string[], extra: Record<string, unknown> = {}) => {
    const res = await call('POST', '/api/manage/tokens', admin.headers, { name, scopes, ...extra });
    expect(res.status, res.text).toBe(201);
    return res.body as { token: { id: string; name: string; scopes: string[]; prefix: string }; secret: string };
  };
  const inviteBody = { exerciseId: 'graded-demo', candidateName: 'Casey Candidate', candidateEmail: 'casey@example.test', showFeedback: true };
  const auditRows = (action: string) =>
    server.services.sqlite!.prepare('SELECT user_id AS userId, actor, detail FROM audit_log WHERE action = ? ORDER BY id').all(action) as {
      userId: string | null;
      actor: string | null;
      detail: string | null;
    }[];

  beforeAll(async () => {
    admin = await staffSession(server, 'admin', 'Ada Admin');
    interviewer = await staffSession(server, 'interviewer', 'Ivan Interviewer');
  });

  it('shows the secret once, lists the token without it, and stores only its SHA-256', async () => {
    const { token, secret } = await createToken('ats-sync', ['invites:write', 'attempts:read']);
    expect(secret).toMatch(/^opslab_pat_[A-Za-z0-9_-]{43}$/);
    expect(token).toMatchObject({ name: 'ats-sync', scopes: ['invites:write', 'attempts:read'], prefix: secret.slice(0, 15), status: 'active' });
    expect(token).not.toHaveProperty('secret');

    const list = await call('GET', '/api/manage/tokens', admin.headers);
    expect(list.status).toBe(200);
    expect(list.headers.get('cache-control')).toBe('no-store');
    expect(list.text).not.toContain(secret);
    expect(list.text).not.toContain(secret.slice(15));
    expect(list.body.tokens.find((t: { id: string }) => t.id === token.id)).toMatchObject({
      name: 'ats-sync',
      createdBy: { id: admin.user.id, name: 'Ada Admin' },
      lastUsedAt: null,
      revokedAt: null,
      expiresAt: null,
    });

    // The SQLite file (and its write-ahead log) hold the hash, never the secret.
    const row = server.services.sqlite!.prepare('SELECT * FROM api_tokens WHERE id = ?').get(token.id) as Record<string, unknown>;
    expect(row.secret_hash).toBe(sha256(secret));
    for (const value of Object.values(row)) expect(String(value)).not.toContain(secret.slice(15));
    server.services.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
    for (const file of ['opslab.db', 'opslab.db-wal']) {
      const p = path.join(server.dataDir, file);
      if (!fs.existsSync(p)) continue;
      const bytes = fs.readFileSync(p);
      expect(bytes.includes(Buffer.from(secret.slice(15))), file).toBe(false);
      if (file === 'opslab.db') expect(bytes.includes(Buffer.from(sha256(secret))), file).toBe(true);
    }

    // Creation is audited under the admin; the answer is not cached.
    expect(auditRows('api-token.create').at(-1)).toMatchObject({ userId: admin.user.id, actor: null });
  });

  it('creates an invite without a CSRF header, owned by the admin, audited as token:<name>', async () => {
    const { secret } = await createToken('ats-invites', ['invites:write']);
    const res = await call('POST', '/api/manage/invites', bearer(secret), inviteBody);
    expect(res.status, res.text).toBe(201);
    expect(res.body.invite.link).toMatch(/\/invite#[A-Za-z0-9_-]{43}$/);
    expect(res.body.invite.createdBy).toEqual({ id: admin.user.id, name: 'Ada Admin' });
    const inviteId = res.body.invite.id as string;
    const created = server.services.sqlite!
      .prepare("SELECT user_id AS userId, actor FROM audit_log WHERE action = 'invite.create' AND invite_id = ?")
      .get(inviteId);
    expect(created).toEqual({ userId: admin.user.id, actor: 'token:ats-invites' });

    // The admin's own invites are the token's to manage; revoking is audited under the token too.
    const revoked = await call('POST', `/api/manage/invites/${inviteId}/revoke`, bearer(secret));
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.invite.status).toBe('revoked');
    const row = server.services.sqlite!
      .prepare("SELECT user_id AS userId, actor FROM audit_log WHERE action = 'invite.revoke' AND invite_id = ?")
      .get(inviteId);
    expect(row).toEqual({ userId: admin.user.id, actor: 'token:ats-invites' });

    // ...but another interviewer's invites are not: a token has an interviewer's rights, never an admin's.
    const theirs = await call('POST', '/api/manage/invites', interviewer.headers, inviteBody);
    expect(theirs.status).toBe(201);
    const refused = await call('POST', `/api/manage/invites/${theirs.body.invite.id}/revoke`, bearer(secret));
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/Ivan Interviewer/);

    // The same admin in a session still sees and manages the token's invite (creator-or-admin rules unchanged).
    const list = await call('GET', '/api/manage/invites', admin.headers);
    expect(list.body.invites.find((i: { id: string }) => i.id === inviteId)).toMatchObject({ canManage: true });
    // A session action is not attributed to a token.
    const extended = await call('POST', `/api/manage/invites/${theirs.body.invite.id}/extend`, admin.headers, { minutes: 5 });
    expect(extended.status, extended.text).toBe(200);
    expect(auditRows('attempt.extend').at(-1)).toMatchObject({ userId: admin.user.id, actor: null });
  });

  it('names the token in the audit log of its own requests only, with requests of both kinds at once', async () => {
    const { secret } = await createToken('concurrent', ['invites:write']);
    const viaToken = Array.from({ length: 8 }, () => call('POST', '/api/manage/invites', bearer(secret), inviteBody));
    const viaSession = Array.from({ length: 8 }, () => call('POST', '/api/manage/invites', admin.headers, inviteBody));
    const [byToken, bySession] = await Promise.all([Promise.all(viaToken), Promise.all(viaSession)]);
    const actorOf = (res: { body: { invite: { id: string } } }) =>
      (server.services.sqlite!.prepare("SELECT actor FROM audit_log WHERE action = 'invite.create' AND invite_id = ?").get(res.body.invite.id) as {
        actor: string | null;
      }).actor;
    expect(byToken.map(actorOf)).toEqual(Array(8).fill('token:concurrent'));
    expect(bySession.map(actorOf)).toEqual(Array(8).fill(null));
  });

  it('refuses routes outside its scopes (403) and every sessions-only route, audited', async () => {
    const { token, secret } = await createToken('reader', ['attempts:read']);
    const ok = await call('GET', '/api/manage/attempts', bearer(secret));
    expect(ok.status, ok.text).toBe(200);
    const refusals: [string, string, unknown?][] = [
      ['POST', '/api/manage/invites', inviteBody],
      ['GET', '/api/manage/invites'],
      ['GET', `/api/manage/attempts/a_${'0'.repeat(20)}`],
      ['GET', `/api/manage/attempts/a_${'0'.repeat(20)}/export.json`],
      ['GET', '/api/manage/users'],
      ['GET', '/api/manage/audit'],
      ['GET', '/api/manage/tokens'],
      ['POST', '/api/manage/tokens', { name: 'escalate', scopes: ['reviews:read'] }],
      ['POST', `/api/manage/tokens/${token.id}/revoke`],
      ['POST', '/api/auth/logout'],
    ];
    for (const [method, url, body] of refusals) {
      const res = await call(method, url, bearer(secret), body);
      expect(res.status, `${method} ${url}: ${res.text}`).toBe(403);
      expect(res.body.error.code).toBe('OPSLAB_ERR_FORBIDDEN');
    }
    const refused = auditRows('api-token.refused').filter((r) => r.actor === 'token:reader');
    expect(refused).toHaveLength(refusals.length);
    // A token is never a session: the state route does not see a user.
    const state = await call('GET', '/api/auth/state', bearer(secret));
    expect(state.body.user).toBeNull();
  });

  it('is refused together with a session cookie, from a cookie, and on candidate routes', async () => {
    const { secret } = await createToken('everything', ['invites:write', 'attempts:read', 'reviews:read']);
    const both = await call('GET', '/api/manage/attempts', { ...admin.headers, ...bearer(secret) });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toMatch(/both a session cookie and an Authorization header/);
    // Even a useless cookie next to a token is ambiguous.
    const junkCookie = await call('GET', '/api/manage/attempts', { cookie: 'opslab_session=nothing', ...bearer(secret) });
    expect(junkCookie.status).toBe(400);

    // Another Authorization scheme next to a session (a proxy's Basic sign-in) is not a token: the session decides.
    const proxied = await call('GET', '/api/manage/attempts', { ...admin.headers, authorization: 'Basic dXNlcjpwYXNz' });
    expect(proxied.status).toBe(200);

    const asCookie = await call('GET', '/api/manage/attempts', { cookie: `opslab_session=${secret}` });
    expect(asCookie.status).toBe(401);

    // A candidate route answers a staff token exactly as it answers a wrong token.
    const invite = await call('POST', '/api/manage/invites', bearer(secret), inviteBody);
    const claim = new URL(invite.body.invite.link).hash.slice(1);
    const started = await call('POST', '/api/invite/start', bearer(claim));
    expect(started.status, started.text).toBe(201);
    const attemptId = started.body.attempt.id as string;
    const own = attemptCookieToken(started.headers, attemptId);
    expect((await call('GET', `/api/attempts/${attemptId}`, bearer(own))).status).toBe(200);
    const wrong = `opslab_pat_${randomBytes(32).toString('base64url')}`;
    for (const url of [`/api/attempts/${attemptId}`, `/api/attempts/${attemptId}/recording`]) {
      const withPat = await call('GET', url, bearer(secret));
      const withWrong = await call('GET', url, bearer(wrong));
      expect(withPat.status).toBe(withWrong.status);
      expect(withPat.status).toBeGreaterThanOrEqual(400);
      expect(withPat.body).toEqual(withWrong.body);
    }
    const submitPat = await call('POST', `/api/attempts/${attemptId}/submit`, bearer(secret));
    const submitWrong = await call('POST', `/api/attempts/${attemptId}/submit`, bearer(wrong));
    expect([submitPat.status, submitPat.body]).toEqual([submitWrong.status, submitWrong.body]);
    expect(submitPat.status).toBeGreaterThanOrEqual(400);
    expect((await call('GET', '/api/invite', bearer(secret))).status).toBe(404);
    const done = await call('POST', `/api/attempts/${attemptId}/submit`, bearer(own));
    expect(done.status, done.text).toBe(200);
  });

  it('answers 401 for unknown, malformed, revoked and expired tokens, and when its admin is disabled', async () => {
    const unknown = await call('GET', '/api/manage/attempts', bearer(`opslab_pat_${randomBytes(32).toString('base64url')}`));
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.message).toBe('This API token is not valid.');
    for (const header of ['Bearer', 'Basic dXNlcjpwYXNz', 'Bearer not-a-token']) {
      expect((await call('GET', '/api/manage/attempts', { authorization: header })).status, header).toBe(401);
    }

    const { token, secret } = await createToken('short-lived', ['attempts:read'], { expiresInDays: 1 });
    expect((await call('GET', '/api/manage/attempts', bearer(secret))).status).toBe(200);
    // last used is recorded (then written at most once a minute).
    const used = (await call('GET', '/api/manage/tokens', admin.headers)).body.tokens.find((t: { id: string }) => t.id === token.id);
    expect(used.lastUsedAt).not.toBeNull();
    expect(Date.parse(used.expiresAt) - Date.parse(used.createdAt)).toBe(86_400_000);

    const auth = server.services.auth;
    const realNow = auth.now;
    auth.now = () => Date.now() + 86_400_000 + 1000;
    try {
      const expired = await call('GET', '/api/manage/attempts', bearer(secret));
      expect(expired.status).toBe(401);
      expect(expired.body.error.message).toBe('This API token has expired.');
    } finally {
      auth.now = realNow;
    }

    const revoke = await call('POST', `/api/manage/tokens/${token.id}/revoke`, admin.headers);
    expect(revoke.status, revoke.text).toBe(200);
    expect(revoke.body.token).toMatchObject({ status: 'revoked' });
    const revoked = await call('GET', '/api/manage/attempts', bearer(secret));
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toBe('This API token was revoked.');
    expect(auditRows('api-token.revoke').at(-1)).toMatchObject({ userId: admin.user.id });
    expect((await call('POST', `/api/manage/tokens/${token.id}/revoke`, admin.headers)).status).toBe(409);

    // A second admin's token stops working when that admin is disabled.
    const other = await staffSession(server, 'admin', 'Otto Other');
    const made = await call('POST', '/api/manage/tokens', other.headers, { name: 'otto', scopes: ['attempts:read'] });
    expect(made.status).toBe(201);
    expect((await call('POST', `/api/manage/users/${other.user.id}/disable`, admin.headers)).status).toBe(200);
    expect((await call('GET', '/api/manage/attempts', bearer(made.body.secret))).status).toBe(401);
  });

  it('is for admins in a session only, with a valid body', async () => {
    expect((await call('POST', '/api/manage/tokens', interviewer.headers, { name: 'x', scopes: ['attempts:read'] })).status).toBe(403);
    expect((await call('GET', '/api/manage/tokens', interviewer.headers)).status).toBe(403);
    const noCsrf = await call('POST', '/api/manage/tokens', { cookie: admin.cookie }, { name: 'x', scopes: ['attempts:read'] });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.code).toBe('OPSLAB_ERR_CSRF');
    for (const body of [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['admin'] },
      { name: 'x', scopes: ['attempts:read', 'attempts:read'] },
      { name: 'bad\nname', scopes: ['attempts:read'] },
      { name: 'x', scopes: ['attempts:read'], expiresInDays: 0 },
      { name: 'x', scopes: ['attempts:read'], role: 'admin' },
    ]) {
      expect((await call('POST', '/api/manage/tokens', admin.headers, body)).status, JSON.stringify(body)).toBe(400);
    }
    await createToken('dup', ['attempts:read']);
    const dup = await call('POST', '/api/manage/tokens', admin.headers, { name: 'dup', scopes: ['reviews:read'] });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('OPSLAB_ERR_API_TOKEN_STATE');
    expect((await call('POST', `/api/manage/tokens/t_${'0'.repeat(20)}/revoke`, admin.headers)).status).toBe(404);
  });
});
