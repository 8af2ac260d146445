// Accounts, sessions and CSRF over real HTTP: a real server on a loopback port with its own SQLite file, on the real
// engine (nothing here starts a sandbox, except the attempt whose token is tried on the staff routes).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadConfig } from '../../server/src/config.js';
import { buildApp } from '../../server/src/app.js';
import { SESSION_IDLE_MS, SESSION_MAX_MS } from '../../server/src/auth/service.js';
import { staffGuard } from '../../server/src/routes/staff-guard.js';
import { verifyPassword } from '../../server/src/auth/password.js';
import { testLabels } from '../helpers/docker.js';
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.js';
import { injectStaffSession, staffSession, type StaffSession } from '../helpers/staff.js';

const PASSWORD = 'correct horse battery';

/** A test server (startTestServer: the real engine, its own SQLite file) with a clock the test moves. */
async function startAuthServer(): Promise<TestServer & { clock: { now: number } }> {
  // No web UI: the routes alone.
  const server = await startTestServer({ env: { OPSLAB_WEB_DIR: path.join(os.tmpdir(), 'opslab-auth-test-no-web') } });
  // Links the server hands out (setup, activation) follow the configured public address, not the port it listens on.
  server.config.publicUrl = 'http://opslab.test:8080';
  const clock = { now: Date.parse('2030-01-01T09:00:00Z') };
  server.services.auth.now = () => clock.now;
  return Object.assign(server, { clock });
}

interface Answer {
  status: number;
  body: any;
  headers: Headers;
  /** `opslab_session=…` when the answer set the session cookie. */
  cookie: string | null;
}

async function call(
  server: TestServer,
  method: string,
  urlPath: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(`${server.url}${urlPath}`, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  const line = res.headers.getSetCookie().find((l) => l.startsWith('opslab_session='));
  return {
    status: res.status,
    body: text === '' ? null : JSON.parse(text),
    headers: res.headers,
    cookie: line ? line.split(';')[0]! : null,
  };
}

const tokenOf = (link: string) => link.slice(link.indexOf('#') + 1);

describe('accounts, sessions and CSRF', () => {
  let server: Awaited<ReturnType<typeof startAuthServer>>;

  beforeEach(async () => {
    server = await startAuthServer();
  });

  afterEach(async () => {
    await server.destroy();
  });

  const auditActions = async () => (await server.services.auth.auditEntries(1000)).map((e) => e.action).reverse();

  describe('setup', () => {
    it('creates the first admin once; the link dies after use and no new one is made', async () => {
      expect((await call(server, 'GET', '/api/auth/state')).body).toEqual({
        setupRequired: true,
        user: null,
        csrfToken: null,
        signIn: { password: true, sso: null },
      });
      const link = (await server.services.auth.setupLink())!;
      expect(link).toMatch(/^http:\/\/opslab\.test:8080\/setup#[A-Za-z0-9_-]{43}$/);
      // Only the hash is stored.
      const stored = server.services.sqlite!.prepare('SELECT token_hash, purpose, expires_at - created_at AS life FROM account_tokens').all();
      expect(stored).toEqual([{ token_hash: expect.stringMatching(/^[0-9a-f]{64}$/), purpose: 'setup', life: 24 * 3600_000 }]);
      expect(JSON.stringify(stored)).not.toContain(tokenOf(link));

      const body = { token: tokenOf(link), email: 'Root@Example.test', name: 'Ada Admin', password: PASSWORD };
      const created = await call(server, 'POST', '/api/auth/setup', { body });
      expect(created.status).toBe(201);
      expect(created.body.user).toMatchObject({ email: 'root@example.test', name: 'Ada Admin', role: 'admin', disabled: false });
      expect(created.body.user.id).toMatch(/^u_[0-9a-f]{20}$/);
      expect(created.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(created.cookie).toMatch(/^opslab_session=[A-Za-z0-9_-]{43}$/);

      // The new session works at once.
      const state = await call(server, 'GET', '/api/auth/state', { headers: { cookie: created.cookie! } });
      expect(state.body).toEqual({
        setupRequired: false,
        user: created.body.user,
        csrfToken: created.body.csrfToken,
        signIn: { password: true, sso: null },
      });

      // Used: refused, and no second admin.
      const again = await call(server, 'POST', '/api/auth/setup', { body: { ...body, email: 'other@example.test' } });
      expect(again.status).toBe(403);
      expect(again.body.error.code).toBe('OPSLAB_ERR_SETUP_LINK');
      expect(await server.services.auth.listUsers()).toHaveLength(1);
      expect(await server.services.auth.setupLink()).toBeNull();
      expect(await auditActions()).toEqual(['setup']);
    });

    it('refuses a wrong or replaced link, and a short password without using the link up', async () => {
      const first = (await server.services.auth.setupLink())!;
      const second = (await server.services.auth.setupLink())!;
      const body = { email: 'root@example.test', name: 'Root', password: PASSWORD };
      expect((await call(server, 'POST', '/api/auth/setup', { body: { ...body, token: tokenOf(first) } })).status).toBe(403);
      expect((await call(server, 'POST', '/api/auth/setup', { body: { ...body, token: 'x'.repeat(43) } })).status).toBe(403);
      const short = await call(server, 'POST', '/api/auth/setup', {
        body: { ...body, token: tokenOf(second), password: 'eleven char' },
      });
      expect(short.status).toBe(400);
      expect(short.body.error.message).toContain('12 to 200');
      const extra = await call(server, 'POST', '/api/auth/setup', { body: { ...body, token: tokenOf(second), role: 'admin' } });
      expect(extra.status).toBe(400);
      expect((await call(server, 'POST', '/api/auth/setup', { body: { ...body, token: tokenOf(second) } })).status).toBe(201);
    });

    it('an expired link is refused', async () => {
      const link = (await server.services.auth.setupLink())!;
      server.clock.now += 24 * 3600_000;
      const res = await call(server, 'POST', '/api/auth/setup', {
        body: { token: tokenOf(link), email: 'root@example.test', name: 'Root', password: PASSWORD },
      });
      expect(res.status).toBe(403);
      expect(await server.services.auth.setupRequired()).toBe(true);
    });

    it('two racing requests with the same link make exactly one admin', async () => {
      const token = tokenOf((await server.services.auth.setupLink())!);
      const answers = await Promise.all(
        ['a', 'b', 'c', 'd'].map((who) =>
          call(server, 'POST', '/api/auth/setup', {
            body: { token, email: `${who}@example.test`, name: who, password: PASSWORD },
          }),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([201, 403, 403, 403]);
      expect(await server.services.auth.listUsers()).toHaveLength(1);
    });
  });

  describe('login', () => {
    beforeEach(async () => {
      await server.services.auth.createUser({ email: 'ivy@example.test', name: 'Ivy', role: 'interviewer', password: PASSWORD });
    });

    it('signs in with the right password; the same 401 for a wrong password and an unknown email', async () => {
      const ok = await call(server, 'POST', '/api/auth/login', { body: { email: 'IVY@example.test', password: PASSWORD } });
      expect(ok.status).toBe(200);
      expect(ok.body.user).toMatchObject({ email: 'ivy@example.test', role: 'interviewer' });
      expect(ok.cookie).not.toBeNull();
      const setCookie = ok.headers.getSetCookie().join('\n');
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Strict/);
      expect(setCookie).toMatch(/Path=\//);
      expect(setCookie).not.toMatch(/Secure/);

      const wrong = await call(server, 'POST', '/api/auth/login', { body: { email: 'ivy@example.test', password: 'not the password' } });
      const unknown = await call(server, 'POST', '/api/auth/login', { body: { email: 'nobody@example.test', password: PASSWORD } });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.body).toEqual(unknown.body);
      expect(wrong.body.error.code).toBe('OPSLAB_ERR_LOGIN');
      expect(wrong.cookie).toBeNull();

      // The password is stored as a self-describing scrypt hash, never in the audit log.
      const row = server.services.sqlite!.prepare('SELECT password_hash FROM users WHERE email = ?').get('ivy@example.test') as {
        password_hash: string;
      };
      expect(row.password_hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{88}$/);
      expect(await verifyPassword(PASSWORD, row.password_hash)).toBe(true);
      expect(await verifyPassword(`${PASSWORD}!`, row.password_hash)).toBe(false);
      const entries = await server.services.auth.auditEntries(100);
      expect(entries.map((e) => e.action).reverse()).toEqual(['login', 'login-failed', 'login-failed']);
      expect(JSON.stringify(entries)).not.toContain('not the password');
      expect(JSON.stringify(entries)).not.toContain(PASSWORD);
      expect(entries[0]!.detail).toMatchObject({ email: 'nobody@example.test' });
    });

    it('marks the cookie Secure when the public URL is https', async () => {
      const dataDir = tempDataDir();
      const config = loadConfig({ OPSLAB_DATA_DIR: dataDir, OPSLAB_PUBLIC_URL: 'https://lab.example.test' });
      const { app, services } = await buildApp({ config, logger: false, sandboxLabels: testLabels() });
      try {
        const session = await injectStaffSession(app, services, 'admin');
        expect(session.user.role).toBe('admin');
        const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: session.user.email, password: session.password } });
        expect(String(res.headers['set-cookie'])).toMatch(/; Secure/);
      } finally {
        await services.attempts.shutdown();
        await app.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('a disabled or not yet activated account cannot sign in, with the same message', async () => {
      const admin = await staffSession(server, 'admin');
      const created = await call(server, 'POST', '/api/manage/users', {
        headers: admin.headers,
        body: { email: 'new@example.test', name: 'New', role: 'interviewer' },
      });
      expect(created.status).toBe(201);
      const pending = await call(server, 'POST', '/api/auth/login', { body: { email: 'new@example.test', password: PASSWORD } });
      expect(pending.status).toBe(401);
      const ivy = (await server.services.auth.listUsers()).find((u) => u.email === 'ivy@example.test')!;
      expect((await call(server, 'POST', `/api/manage/users/${ivy.id}/disable`, { headers: admin.headers })).status).toBe(200);
      const disabled = await call(server, 'POST', '/api/auth/login', { body: { email: 'ivy@example.test', password: PASSWORD } });
      expect(disabled.status).toBe(401);
      expect(disabled.body).toEqual(pending.body);
    });

    it('limits failures per email: the sixth try is 429 with Retry-After, even with the right password', async () => {
      for (let i = 0; i < 5; i++) {
        const res = await call(server, 'POST', '/api/auth/login', { body: { email: 'ivy@example.test', password: `wrong password ${i}` } });
        expect(res.status).toBe(401);
        server.clock.now += 1000;
      }
      const limited = await call(server, 'POST', '/api/auth/login', { body: { email: 'ivy@example.test', password: PASSWORD } });
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('OPSLAB_ERR_LOGIN_RATE');
      // The first failure leaves the 15-minute window 15 min - 5 s from now.
      expect(limited.headers.get('retry-after')).toBe(String(15 * 60 - 5));
      expect(limited.body.error.message).toMatch(/Try again in 15 minutes/);
      expect(limited.cookie).toBeNull();

      server.clock.now += (15 * 60 - 5) * 1000;
      const ok = await call(server, 'POST', '/api/auth/login', { body: { email: 'ivy@example.test', password: PASSWORD } });
      expect(ok.status).toBe(200);
    });

    it('limits failures per client address across emails; a success clears only the email counter', async () => {
      // Four failures for ivy, then a success: ivy's counter is cleared, the address keeps its four.
      for (let i = 0; i < 4; i++) {
        expect((await call(server, 'POST', '/api/auth/login', { body: { email: 'ivy@example.test', password: 'wrong password!' } })).status).toBe(401);
      }
      expect((await call(server, 'POST', '/api/auth/login', { body: { email: 'ivy@example.test', password: PASSWORD } })).status).toBe(200);
      expect((await call(server, 'POST', '/api/auth/login', { body: { email: 'ivy@example.test', password: 'wrong password!' } })).status).toBe(401);
      // The address has five failures now: any email from it is refused.
      const other = await call(server, 'POST', '/api/auth/login', { body: { email: 'someone@example.test', password: PASSWORD } });
      expect(other.status).toBe(429);
      // Another address may still sign in as ivy (her email counter has one failure).
      const res = await server.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress: '10.1.2.3',
        payload: { email: 'ivy@example.test', password: PASSWORD },
      });
      expect(res.statusCode).toBe(200);
    });
  });

  describe('CSRF and roles', () => {
    let admin: StaffSession;
    let interviewer: StaffSession;

    beforeEach(async () => {
      admin = await staffSession(server, 'admin', 'Ada');
      interviewer = await staffSession(server, 'interviewer', 'Ivo');
    });

    it('a change without the CSRF header, or with a wrong one, is 403 and changes nothing', async () => {
      const body = { email: 'x@example.test', name: 'X', role: 'interviewer' };
      const missing = await call(server, 'POST', '/api/manage/users', { headers: { cookie: admin.cookie }, body });
      expect(missing.status).toBe(403);
      expect(missing.body.error.code).toBe('OPSLAB_ERR_CSRF');
      const wrong = await call(server, 'POST', '/api/manage/users', {
        headers: { cookie: admin.cookie, 'x-csrf-token': interviewer.csrfToken },
        body,
      });
      expect(wrong.status).toBe(403);
      expect(wrong.body.error.code).toBe('OPSLAB_ERR_CSRF');
      const disable = await call(server, 'POST', `/api/manage/users/${interviewer.user.id}/disable`, {
        headers: { cookie: admin.cookie, 'x-csrf-token': '' },
      });
      expect(disable.status).toBe(403);
      const logout = await call(server, 'POST', '/api/auth/logout', { headers: { cookie: admin.cookie } });
      expect(logout.status).toBe(403);

      expect((await server.services.auth.listUsers()).map((u) => [u.email, u.disabled])).toEqual([
        [admin.user.email, false],
        [interviewer.user.email, false],
      ]);
      expect((await call(server, 'GET', '/api/manage/users', { headers: { cookie: admin.cookie } })).status).toBe(200);
      // With the header, the same request works.
      expect((await call(server, 'POST', '/api/manage/users', { headers: admin.headers, body })).status).toBe(201);
    });

    it('interviewers get 403 on admin routes, no session gets 401, a Bearer token is never a session', async () => {
      for (const [method, url] of [
        ['GET', '/api/manage/users'],
        ['POST', '/api/manage/users'],
        ['POST', `/api/manage/users/${admin.user.id}/disable`],
        ['GET', '/api/manage/audit'],
      ] as const) {
        const body = method === 'POST' && url.endsWith('users') ? { email: 'y@example.test', name: 'Y', role: 'admin' } : undefined;
        const asInterviewer = await call(server, method, url, { headers: interviewer.headers, body });
        expect(asInterviewer.status, `${method} ${url}`).toBe(403);
        expect(asInterviewer.body.error.code).toBe('OPSLAB_ERR_FORBIDDEN');
        const anonymous = await call(server, method, url, { body });
        expect(anonymous.status, `${method} ${url}`).toBe(401);
        expect(anonymous.body.error.code).toBe('OPSLAB_ERR_UNAUTHORIZED');
        expect(anonymous.body.error.message).toMatch(/Sign in/);
      }
      expect(await server.services.auth.listUsers()).toHaveLength(2);

      // An attempt token (a real one) is not a session.
      const started = await call(server, 'POST', '/api/attempts', { body: { exerciseId: 'shell-warmup' } });
      expect(started.status).toBe(201);
      const bearer = await call(server, 'GET', '/api/manage/users', { headers: { authorization: `Bearer ${started.body.token}` } });
      expect(bearer.status).toBe(401);
      // Nor is a session id sent as a Bearer token.
      const sessionId = admin.cookie.split('=')[1]!;
      const asBearer = await call(server, 'GET', '/api/manage/users', { headers: { authorization: `Bearer ${sessionId}` } });
      expect(asBearer.status).toBe(401);
      // A garbage cookie is no session either.
      expect((await call(server, 'GET', '/api/manage/users', { headers: { cookie: 'opslab_session=nope' } })).status).toBe(401);
    });

    it('the guard works on a WebSocket route before the upgrade', async () => {
      const guard = staffGuard(server.services.auth, ['admin']);
      // A throwaway app with one guarded WebSocket route, on the same service.
      const { default: Fastify } = await import('fastify');
      const { default: cookie } = await import('@fastify/cookie');
      const { default: websocket } = await import('@fastify/websocket');
      const app = Fastify({ logger: false });
      await app.register(cookie);
      await app.register(websocket);
      app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) =>
        reply.code(err.statusCode ?? 500).send({ error: { code: err.code, message: err.message } }),
      );
      app.get('/ws', { websocket: true, preValidation: guard }, (socket, request) => {
        socket.send(request.user!.name);
        socket.close();
      });
      try {
        await app.listen({ host: '127.0.0.1', port: 0 });
        const { port } = app.server.address() as { port: number };
        const connect = (cookieHeader?: string) =>
          new Promise<{ status: number } | { message: string }>((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: cookieHeader ? { cookie: cookieHeader } : {} });
            ws.on('unexpected-response', (_req, res) => {
              resolve({ status: res.statusCode ?? 0 });
              ws.terminate();
            });
            ws.on('message', (data) => resolve({ message: String(data) }));
            ws.on('error', reject);
          });
        expect(await connect()).toEqual({ status: 401 });
        expect(await connect(interviewer.cookie)).toEqual({ status: 403 });
        expect(await connect(admin.cookie)).toEqual({ message: 'Ada' });
      } finally {
        await app.close();
      }
    });
  });

  describe('users', () => {
    it('an admin adds an interviewer, who activates the account with the link and is signed in', async () => {
      const admin = await staffSession(server, 'admin', 'Ada');
      const created = await call(server, 'POST', '/api/manage/users', {
        headers: admin.headers,
        body: { email: ' Ivo@Example.test ', name: 'Ivo', role: 'interviewer' },
      });
      expect(created.status).toBe(201);
      expect(created.body.user).toMatchObject({ email: 'ivo@example.test', name: 'Ivo', role: 'interviewer', disabled: false });
      expect(created.body.activationUrl).toMatch(/^http:\/\/opslab\.test:8080\/activate#[A-Za-z0-9_-]{43}$/);

      const dup = await call(server, 'POST', '/api/manage/users', {
        headers: admin.headers,
        body: { email: 'IVO@example.test', name: 'Other', role: 'admin' },
      });
      expect(dup.status).toBe(409);
      expect(dup.body.error.code).toBe('OPSLAB_ERR_EMAIL_TAKEN');

      const token = tokenOf(created.body.activationUrl);
      const short = await call(server, 'POST', '/api/auth/activate', { body: { token, password: 'short' } });
      expect(short.status).toBe(400);
      const activated = await call(server, 'POST', '/api/auth/activate', { body: { token, password: PASSWORD } });
      expect(activated.status).toBe(200);
      expect(activated.body.user.id).toBe(created.body.user.id);
      const state = await call(server, 'GET', '/api/auth/state', { headers: { cookie: activated.cookie! } });
      expect(state.body.user.email).toBe('ivo@example.test');
      // Once only.
      const again = await call(server, 'POST', '/api/auth/activate', { body: { token, password: `${PASSWORD}2` } });
      expect(again.status).toBe(403);
      expect(again.body.error.code).toBe('OPSLAB_ERR_ACTIVATION_LINK');
      expect((await call(server, 'POST', '/api/auth/login', { body: { email: 'ivo@example.test', password: PASSWORD } })).status).toBe(200);

      const list = await call(server, 'GET', '/api/manage/users', { headers: admin.headers });
      expect(list.body.users.map((u: { name: string }) => u.name)).toEqual(['Ada', 'Ivo']);
    });

    it('an activation link expires after 7 days', async () => {
      const admin = await staffSession(server, 'admin');
      const created = await call(server, 'POST', '/api/manage/users', {
        headers: admin.headers,
        body: { email: 'late@example.test', name: 'Late', role: 'interviewer' },
      });
      server.clock.now += 7 * 24 * 3600_000;
      const res = await call(server, 'POST', '/api/auth/activate', {
        body: { token: tokenOf(created.body.activationUrl), password: PASSWORD },
      });
      expect(res.status).toBe(403);
    });

    it('disabling ends the sessions at once; an admin cannot disable themself or the last admin', async () => {
      const admin = await staffSession(server, 'admin', 'Ada');
      const ivo = await staffSession(server, 'interviewer', 'Ivo');
      expect((await call(server, 'GET', '/api/auth/state', { headers: { cookie: ivo.cookie } })).body.user).not.toBeNull();

      const self = await call(server, 'POST', `/api/manage/users/${admin.user.id}/disable`, { headers: admin.headers });
      expect(self.status).toBe(409);
      const unknown = await call(server, 'POST', '/api/manage/users/u_00000000000000000000/disable', { headers: admin.headers });
      expect(unknown.status).toBe(404);
      const malformed = await call(server, 'POST', '/api/manage/users/nope/disable', { headers: admin.headers });
      expect(malformed.status).toBe(400);

      const disabled = await call(server, 'POST', `/api/manage/users/${ivo.user.id}/disable`, { headers: admin.headers });
      expect(disabled.status).toBe(200);
      expect(disabled.body.user).toMatchObject({ id: ivo.user.id, disabled: true });
      expect(server.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?').get(ivo.user.id)).toEqual({ n: 0 });
      const refused = await call(server, 'GET', '/api/auth/state', { headers: { cookie: ivo.cookie } });
      expect(refused.body.user).toBeNull();
      const logout = await call(server, 'POST', '/api/auth/logout', { headers: ivo.headers });
      expect(logout.status).toBe(401);

      // From the command line (no actor) the last admin who can sign in is kept.
      await expect(server.services.auth.disableUser(null, admin.user.id)).rejects.toThrow(/last active admin/);
      const second = await staffSession(server, 'admin', 'Bea');
      expect((await server.services.auth.disableUser(null, admin.user.id)).disabled).toBe(true);
      await expect(server.services.auth.disableUser(null, second.user.id)).rejects.toThrow(/last active admin/);
    });

    it('a disabled user whose session row survived is still refused', async () => {
      const ivo = await staffSession(server, 'interviewer');
      // As if the account were disabled without going through the service.
      server.services.sqlite!.prepare('UPDATE users SET disabled_at = ? WHERE id = ?').run(server.clock.now, ivo.user.id);
      const res = await call(server, 'POST', '/api/auth/logout', { headers: ivo.headers });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toMatch(/Sign in/);
    });
  });

  describe('sessions', () => {
    it('slides 12 hours from the last use', async () => {
      const admin = await staffSession(server, 'admin');
      const state = () => call(server, 'GET', '/api/auth/state', { headers: { cookie: admin.cookie } });
      server.clock.now += SESSION_IDLE_MS - 60_000;
      expect((await state()).body.user).not.toBeNull();
      // Used just now: another 12 hours minus a minute is fine.
      server.clock.now += SESSION_IDLE_MS - 60_000;
      expect((await state()).body.user).not.toBeNull();
      // Idle for 12 hours: ended.
      server.clock.now += SESSION_IDLE_MS;
      const ended = await call(server, 'GET', '/api/manage/users', { headers: admin.headers });
      expect(ended.status).toBe(401);
      expect(ended.body.error.message).toMatch(/Sign in again/);
      expect((await state()).body.user).toBeNull();
    });

    it('ends 7 days after sign-in however often it is used', async () => {
      const admin = await staffSession(server, 'admin');
      const start = server.clock.now;
      while (server.clock.now + 6 * 3600_000 < start + SESSION_MAX_MS) {
        server.clock.now += 6 * 3600_000;
        expect((await call(server, 'GET', '/api/manage/users', { headers: admin.headers })).status).toBe(200);
      }
      server.clock.now = start + SESSION_MAX_MS;
      expect((await call(server, 'GET', '/api/manage/users', { headers: admin.headers })).status).toBe(401);
    });

    it('writes last_seen_at at most once a minute', async () => {
      const admin = await staffSession(server, 'admin');
      const lastSeen = () =>
        (server.services.sqlite!.prepare('SELECT last_seen_at FROM sessions WHERE user_id = ?').get(admin.user.id) as { last_seen_at: number })
          .last_seen_at;
      const start = lastSeen();
      server.clock.now += 59_000;
      await call(server, 'GET', '/api/manage/users', { headers: admin.headers });
      expect(lastSeen()).toBe(start);
      server.clock.now += 1000;
      await call(server, 'GET', '/api/manage/users', { headers: admin.headers });
      expect(lastSeen()).toBe(start + 60_000);
    });

    it('logout ends the session and clears the cookie', async () => {
      const admin = await staffSession(server, 'admin');
      const other = await call(server, 'POST', '/api/auth/login', { body: { email: admin.user.email, password: admin.password } });
      const res = await fetch(`${server.url}/api/auth/logout`, { method: 'POST', headers: admin.headers });
      expect(res.status).toBe(204);
      expect(res.headers.getSetCookie().join()).toMatch(/opslab_session=;.*Expires=Thu, 01 Jan 1970/);
      expect((await call(server, 'GET', '/api/manage/users', { headers: admin.headers })).status).toBe(401);
      // Only that session: the same user's other sign-in still works.
      expect((await call(server, 'GET', '/api/manage/users', { headers: { cookie: other.cookie! } })).status).toBe(200);
    });
  });

  it('writes the audit log, newest first, readable by admins', async () => {
    const link = (await server.services.auth.setupLink())!;
    const setup = await call(server, 'POST', '/api/auth/setup', {
      body: { token: tokenOf(link), email: 'root@example.test', name: 'Root', password: PASSWORD },
    });
    const headers = { cookie: setup.cookie!, 'x-csrf-token': setup.body.csrfToken };
    const created = await call(server, 'POST', '/api/manage/users', {
      headers,
      body: { email: 'ivo@example.test', name: 'Ivo', role: 'interviewer' },
    });
    await call(server, 'POST', '/api/auth/activate', { body: { token: tokenOf(created.body.activationUrl), password: PASSWORD } });
    await call(server, 'POST', '/api/auth/login', { body: { email: 'ivo@example.test', password: 'wrong wrong wrong' } });
    await call(server, 'POST', '/api/auth/login', { body: { email: 'ivo@example.test', password: PASSWORD } });
    await call(server, 'POST', `/api/manage/users/${created.body.user.id}/disable`, { headers });
    expect((await call(server, 'POST', '/api/auth/logout', { headers })).status).toBe(204);
    const again = await call(server, 'POST', '/api/auth/login', { body: { email: 'root@example.test', password: PASSWORD } });
    await server.services.auth.audit({ userId: null, action: 'invite.create', inviteId: 'i_1', attemptId: 'a_1', detail: { n: 1 } });

    const res = await call(server, 'GET', '/api/manage/audit?limit=100', { headers: { cookie: again.cookie! } });
    expect(res.status).toBe(200);
    const entries = res.body.entries as { at: string; user: { id: string; name: string } | null; action: string }[];
    expect(entries.map((e) => e.action)).toEqual([
      'invite.create',
      'login',
      'logout',
      'user.disable',
      'login',
      'login-failed',
      'user.activate',
      'user.create',
      'setup',
    ]);
    expect(entries[0]).toEqual({ at: expect.any(String), user: null, action: 'invite.create', actor: null, attemptId: 'a_1', inviteId: 'i_1', detail: { n: 1 } });
    expect(entries[3]).toMatchObject({ user: { id: setup.body.user.id, name: 'Root' }, detail: { id: created.body.user.id } });
    expect(entries[5]).toMatchObject({ user: { name: 'Ivo' }, detail: { email: 'ivo@example.test', reason: 'wrong-password' } });
    expect(JSON.stringify(entries)).not.toContain('wrong wrong wrong');
    expect(new Date(entries[0]!.at).getTime()).toBe(server.clock.now);
    const limited = await call(server, 'GET', '/api/manage/audit?limit=2', { headers: { cookie: again.cookie! } });
    expect(limited.body.entries).toHaveLength(2);
    expect((await call(server, 'GET', '/api/manage/audit?limit=0', { headers: { cookie: again.cookie! } })).status).toBe(400);
    expect(await server.services.auth.userName(setup.body.user.id)).toBe('Root');
    expect(await server.services.auth.userName('u_missing')).toBeNull();
  });
});
