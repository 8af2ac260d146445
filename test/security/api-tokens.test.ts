// Item 23, API tokens: a token acts on the staff routes its scopes name and nowhere else. Every staff route is probed
// with a token of each scope (and one with all three): inside its scopes it gets past the guard without a CSRF
// header, outside them it is refused (403); the sessions-only routes (accounts, users, tokens, audit, reviews,
// confirmations, regrades, deletion, the live view, sign-out) refuse every token. Revoked, expired and unknown
// tokens get 401 at once; a token is never a session (not from a cookie, not next to one); candidate routes answer
// it as a wrong token; the database holds its SHA-256, never the secret; the audit log names the token.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_SCOPES, type ApiScope } from '../../contract/index.js';
import { repoRoot } from '../../server/src/paths.js';
import { attemptCookieToken, request } from '../helpers/api.js';
import { figure } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';

const ITEM = '23 API tokens';

interface Route {
  method: string;
  /** `:id` is an attempt id, `:invite` a fresh pending invite's id (made per probe), `:token` a token id. */
  url: string;
  body?: unknown;
  /** The scope the route allows; undefined: sessions only. */
  scope?: ApiScope;
}

const INVITE = { exerciseId: 'graded-demo', candidateName: 'Casey Candidate', candidateEmail: 'casey@example.test', showFeedback: true };

/** Every staff route of the server (the matrix is checked against the server's routes below). */
const ROUTES: Route[] = [
  { method: 'GET', url: '/api/manage/exercises', scope: 'invites:write' },
  { method: 'POST', url: '/api/manage/invites', body: INVITE, scope: 'invites:write' },
  { method: 'GET', url: '/api/manage/invites', scope: 'invites:write' },
  { method: 'POST', url: '/api/manage/invites/:invite/revoke', scope: 'invites:write' },
  { method: 'POST', url: '/api/manage/invites/:invite/extend', body: { minutes: 5 }, scope: 'invites:write' },
  { method: 'POST', url: '/api/manage/invites/:invite/reissue', scope: 'invites:write' },
  { method: 'GET', url: '/api/manage/attempts', scope: 'attempts:read' },
  { method: 'GET', url: '/api/manage/attempts/export.csv', scope: 'attempts:read' },
  { method: 'GET', url: '/api/manage/attempts/:id/grade', scope: 'attempts:read' },
  { method: 'GET', url: '/api/manage/attempts/:id/recording', scope: 'attempts:read' },
  { method: 'GET', url: '/api/manage/attempts/:id', scope: 'reviews:read' },
  { method: 'GET', url: '/api/manage/attempts/:id/diff', scope: 'reviews:read' },
  { method: 'GET', url: '/api/manage/attempts/:id/commands', scope: 'reviews:read' },
  { method: 'GET', url: '/api/manage/attempts/:id/signals', scope: 'reviews:read' },
  { method: 'GET', url: '/api/manage/attempts/:id/export.html', scope: 'reviews:read' },
  { method: 'GET', url: '/api/manage/attempts/:id/export.json', scope: 'reviews:read' },
  { method: 'GET', url: '/api/manage/attempts/:id/export.junit.xml', scope: 'reviews:read' },
  // Sessions only.
  { method: 'PUT', url: '/api/manage/attempts/:id/review', body: { ratings: {}, recommendation: 'yes', summary: 'x' } },
  { method: 'PUT', url: '/api/manage/attempts/:id/checks/a/confirmation', body: { verdict: 'pass' } },
  { method: 'DELETE', url: '/api/manage/attempts/:id/checks/a/confirmation' },
  { method: 'POST', url: '/api/manage/attempts/:id/regrade' },
  { method: 'POST', url: '/api/manage/exercises/graded-demo/regrade' },
  { method: 'DELETE', url: '/api/manage/attempts/:id' },
  { method: 'GET', url: '/api/manage/attempts/:id/live' },
  { method: 'GET', url: '/api/manage/users' },
  { method: 'POST', url: '/api/manage/users', body: { email: 'new@example.test', name: 'New', role: 'admin' } },
  { method: 'POST', url: '/api/manage/users/:user/disable' },
  { method: 'GET', url: '/api/manage/audit' },
  { method: 'GET', url: '/api/manage/tokens' },
  { method: 'POST', url: '/api/manage/tokens', body: { name: 'escalated', scopes: ['invites:write', 'attempts:read', 'reviews:read'] } },
  { method: 'POST', url: '/api/manage/tokens/:token/revoke' },
  { method: 'POST', url: '/api/auth/logout' },
];

describe('security 23: API tokens (real server, real SQLite file)', () => {
  const server = useTestServer({ env: { OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/unit-exercises') } });
  let admin: StaffSession;
  let attemptId = '';
  let own = '';
  const secrets = new Map<string, string>();
  const ids = new Map<string, string>();

  const call = (method: string, url: string, headers: Record<string, string> = {}, body?: unknown) =>
    request(server.url, method, url, headers, body);
  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
  const make = async (name: string, scopes: readonly string[], extra: Record<string, unknown> = {}) => {
    const res = await call('POST', '/api/manage/tokens', admin.headers, { name, scopes, ...extra });
    expect(res.status, res.text).toBe(201);
    secrets.set(name, res.body.secret);
    ids.set(name, res.body.token.id);
    return res.body.secret as string;
  };

  beforeAll(async () => {
    admin = await staffSession(server, 'admin', 'Ada Admin');
    for (const scope of API_SCOPES) await make(scope.replace(':', '-'), [scope]);
    await make('all', API_SCOPES);
    // A finished, graded attempt for the read routes.
    const invite = await call('POST', '/api/manage/invites', admin.headers, INVITE);
    const started = await call('POST', '/api/invite/start', bearer(new URL(invite.body.invite.link).hash.slice(1)));
    expect(started.status, started.text).toBe(201);
    attemptId = started.body.attempt.id;
    own = attemptCookieToken(started.headers, attemptId);
    const done = await call('POST', `/api/attempts/${attemptId}/submit`, bearer(own));
    expect(done.status, done.text).toBe(200);
  });

  it('every staff route: accepted within the scopes, 403 outside them, never a CSRF header needed', async () => {
    for (const r of ROUTES) {
      expect(server.app.hasRoute({ method: r.method as 'GET', url: r.url.replace(':invite', ':id').replace(':user', ':id').replace(':token', ':id').replace('/a/', '/:checkId/').replace('graded-demo', ':id') }), `${r.method} ${r.url}`).toBe(true);
    }
    let probes = 0;
    let refusedOutside = 0;
    let outside = 0;
    let accepted = 0;
    let inside = 0;
    let sessionOnlyRefused = 0;
    const perScope = new Map<string, number>();
    const tokens = [...API_SCOPES.map((s) => [s.replace(':', '-'), [s]] as const), ['all', API_SCOPES] as const];
    for (const r of ROUTES) {
      for (const [name, scopes] of tokens) {
        let url = r.url.replace(':id', attemptId).replace(':token', ids.get('all')!).replace(':user', admin.user.id);
        if (url.includes(':invite')) {
          const fresh = await call('POST', '/api/manage/invites', admin.headers, INVITE);
          url = url.replace(':invite', fresh.body.invite.id);
        }
        const res = await call(r.method, url, bearer(secrets.get(name)!), r.body);
        probes++;
        const allowed = r.scope !== undefined && (scopes as readonly string[]).includes(r.scope);
        if (allowed) {
          inside++;
          expect(res.status, `${name} ${r.method} ${url}: ${res.text.slice(0, 200)}`).toBeLessThan(300);
          accepted++;
          perScope.set(r.scope!, (perScope.get(r.scope!) ?? 0) + 1);
        } else {
          outside++;
          expect(res.status, `${name} ${r.method} ${url}: ${res.text.slice(0, 200)}`).toBe(403);
          expect(res.body.error.code).toBe('OPSLAB_ERR_FORBIDDEN');
          refusedOutside++;
          if (r.scope === undefined && name === 'all') sessionOnlyRefused++;
        }
      }
    }
    const sessionOnly = ROUTES.filter((r) => r.scope === undefined).length;
    expect(sessionOnlyRefused).toBe(sessionOnly);
    figure(ITEM, 'staff routes probed', ROUTES.length);
    figure(ITEM, 'probes (routes x 4 tokens)', probes);
    for (const scope of API_SCOPES) figure(ITEM, `routes allowed to ${scope}`, ROUTES.filter((r) => r.scope === scope).length);
    figure(ITEM, 'in-scope probes answered 2xx without CSRF', `${accepted} of ${inside}`);
    figure(ITEM, 'out-of-scope probes refused 403', `${refusedOutside} of ${outside}`);
    figure(ITEM, 'sessions-only routes refused to an all-scopes token', `${sessionOnlyRefused} of ${sessionOnly}`);
    // The admin's tokens and accounts are untouched by all of that.
    expect(server.services.sqlite!.prepare("SELECT COUNT(*) AS n FROM api_tokens WHERE name = 'escalated'").get()).toEqual({ n: 0 });
    expect(server.services.sqlite!.prepare("SELECT COUNT(*) AS n FROM users WHERE email = 'new@example.test'").get()).toEqual({ n: 0 });
    const refusals = server.services.sqlite!.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'api-token.refused'").get() as { n: number };
    expect(refusals.n).toBe(refusedOutside);
    figure(ITEM, 'refusals in the audit log', `${refusals.n} of ${refusedOutside}`);
  });

  it('a token is never a session: not from a cookie, not next to one; candidate routes answer it as a wrong token', async () => {
    const all = secrets.get('all')!;
    const asCookie = await call('GET', '/api/manage/attempts', { cookie: `opslab_session=${all}` });
    expect(asCookie.status).toBe(401);
    const both = await call('GET', '/api/manage/attempts', { ...admin.headers, ...bearer(all) });
    expect(both.status).toBe(400);
    figure(ITEM, 'token as session cookie', asCookie.status);
    figure(ITEM, 'token with a session cookie (ambiguous)', both.status);

    const wrong = `opslab_pat_${randomBytes(32).toString('base64url')}`;
    const candidateRoutes: [string, string][] = [
      ['GET', `/api/attempts/${attemptId}`],
      ['GET', `/api/attempts/${attemptId}/recording`],
      ['GET', `/api/attempts/${attemptId}/hints`],
      ['POST', `/api/attempts/${attemptId}/checks`],
      ['POST', `/api/attempts/${attemptId}/submit`],
      ['GET', '/api/invite'],
      ['POST', '/api/invite/start'],
    ];
    let same = 0;
    for (const [method, url] of candidateRoutes) {
      const a = await call(method, url, bearer(all));
      const b = await call(method, url, bearer(wrong));
      expect([a.status, a.body], `${method} ${url}`).toEqual([b.status, b.body]);
      expect(a.status).toBeGreaterThanOrEqual(400);
      same++;
    }
    figure(ITEM, 'candidate routes answering a staff token as a wrong one', `${same} of ${candidateRoutes.length}`);
  });

  it('revoked, expired and unknown tokens: 401 at once', async () => {
    const secret = await make('to-revoke', ['attempts:read']);
    expect((await call('GET', '/api/manage/attempts', bearer(secret))).status).toBe(200);
    expect((await call('POST', `/api/manage/tokens/${ids.get('to-revoke')}/revoke`, admin.headers)).status).toBe(200);
    const after = await call('GET', '/api/manage/attempts', bearer(secret));
    expect(after.status).toBe(401);
    figure(ITEM, 'first request after revocation', after.status);

    const expiring = await make('expiring', ['attempts:read'], { expiresInDays: 1 });
    const auth = server.services.auth;
    const realNow = auth.now;
    auth.now = () => Date.now() + 86_400_000;
    let expired: number;
    try {
      expired = (await call('GET', '/api/manage/attempts', bearer(expiring))).status;
    } finally {
      auth.now = realNow;
    }
    expect(expired).toBe(401);
    figure(ITEM, 'request at the expiry', expired);

    let unknown = 0;
    const guesses = [
      `opslab_pat_${randomBytes(32).toString('base64url')}`,
      secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A'),
      'opslab_pat_',
      secrets.get('all')!.toUpperCase(),
      createHash('sha256').update(secrets.get('all')!).digest('hex'),
    ];
    for (const guess of guesses) {
      const res = await call('GET', '/api/manage/attempts', bearer(guess));
      expect(res.status, guess).toBe(401);
      unknown++;
    }
    figure(ITEM, 'unknown, altered or hashed tokens refused 401', `${unknown} of ${guesses.length}`);
  });

  it('stores only hashes, and audits what a token does under its name', async () => {
    server.services.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
    const files = ['opslab.db', 'opslab.db-wal'].map((f) => path.join(server.dataDir, f)).filter((f) => fs.existsSync(f));
    let found = 0;
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      for (const secret of secrets.values()) if (bytes.includes(Buffer.from(secret.slice(15)))) found++;
    }
    expect(found).toBe(0);
    figure(ITEM, 'secrets found in the database files', `${found} of ${secrets.size}`);

    const byToken = server.services.sqlite!
      .prepare("SELECT action, user_id AS userId, actor FROM audit_log WHERE actor LIKE 'token:%' AND action != 'api-token.refused'")
      .all() as { action: string; userId: string; actor: string }[];
    expect(byToken.length).toBeGreaterThan(0);
    for (const row of byToken) expect(row.userId).toBe(admin.user.id);
    expect(new Set(byToken.map((r) => r.action))).toEqual(new Set(['invite.create', 'invite.revoke', 'attempt.extend', 'invite.reissue', 'attempts.export']));
    figure(ITEM, 'audited actions by tokens (token:<name> + admin)', byToken.length);
    const lastUsed = server.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM api_tokens WHERE last_used_at IS NOT NULL').get() as { n: number };
    figure(ITEM, 'tokens with lastUsedAt recorded', `${lastUsed.n} of ${secrets.size}`);
  });
});
