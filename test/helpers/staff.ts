// Signed-in interviewers and admins for tests: an account made through the auth service, then a real sign-in.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { UserView } from '../../server/src/auth/service.js';
import type { TestServer } from './server.js';

export type StaffRole = 'admin' | 'interviewer';

export interface StaffSession {
  user: UserView;
  /** `opslab_session=<id>`, for a Cookie header. */
  cookie: string;
  csrfToken: string;
  /** cookie + x-csrf-token: enough for any /api/manage request of this user. */
  headers: Record<string, string>;
  /** The account's password (to sign in again). */
  password: string;
}

/** Something with an auth service: a TestServer's or buildApp's `services`. */
interface HasAuth {
  auth: { createUser(input: { email: string; name: string; role: StaffRole; password?: string }): Promise<UserView> };
}

function newAccount(role: StaffRole, name?: string) {
  const suffix = randomBytes(4).toString('hex');
  return {
    email: `${role}-${suffix}@example.test`,
    name: name ?? `Test ${role} ${suffix}`,
    role,
    password: `pw-${randomBytes(12).toString('hex')}`,
  };
}

function sessionFrom(
  user: UserView,
  password: string,
  setCookie: string | string[] | undefined,
  body: { csrfToken?: string },
): StaffSession {
  const lines = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const line = lines.find((l) => l.startsWith('opslab_session='));
  if (!line || !body.csrfToken) throw new Error(`sign-in gave no session cookie or CSRF token: ${JSON.stringify(body)}`);
  const cookie = line.split(';')[0]!;
  return { user, cookie, csrfToken: body.csrfToken, headers: { cookie, 'x-csrf-token': body.csrfToken }, password };
}

/** A new account of `role`, signed in over real HTTP to the test server. */
export async function staffSession(server: TestServer, role: StaffRole, name?: string): Promise<StaffSession> {
  const account = newAccount(role, name);
  const user = await server.services.auth.createUser(account);
  const res = await fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: account.email, password: account.password }),
  });
  if (res.status !== 200) throw new Error(`sign-in failed: HTTP ${res.status} ${await res.text()}`);
  return sessionFrom(user, account.password, res.headers.getSetCookie(), (await res.json()) as { csrfToken?: string });
}

/** The same for an app that does not listen (buildApp + app.inject). */
export async function injectStaffSession(
  app: FastifyInstance,
  services: HasAuth,
  role: StaffRole,
  name?: string,
): Promise<StaffSession> {
  const account = newAccount(role, name);
  const user = await services.auth.createUser(account);
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: account.email, password: account.password },
  });
  if (res.statusCode !== 200) throw new Error(`sign-in failed: HTTP ${res.statusCode} ${res.body}`);
  return sessionFrom(user, account.password, res.headers['set-cookie'], res.json<{ csrfToken?: string }>());
}
