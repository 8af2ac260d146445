// Item 14, sign-in limits: concurrent guesses cannot slip under the limit while passwords are being hashed, and
// behind a trusted proxy the limit keys on the real client, so one client's guesses do not lock out all staff.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { staffSession } from '../helpers/staff.js';

const ITEM = '14 sign-in limits';
const MAX_FAILURES = 5;

async function login(server: TestServer, email: string, password: string, forwardedFor?: string): Promise<number> {
  const res = await fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    body: JSON.stringify({ email, password }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe(`security 14: sign-in limits (${SANDBOX_RUNTIME})`, () => {
  let direct: TestServer;
  let proxied: TestServer;

  beforeAll(async () => {
    direct = await startTestServer();
    // As behind a TLS proxy on the same host: every request's peer is 127.0.0.1, the client in X-Forwarded-For.
    proxied = await startTestServer({ env: { OPSLAB_TRUST_PROXY: '127.0.0.1' } });
  });
  afterAll(async () => {
    await direct?.destroy();
    await proxied?.destroy();
  });

  it('counts concurrent wrong guesses before hashing: at most the limit get an answer, the rest are refused', async () => {
    const staff = await staffSession(direct, 'interviewer');
    const statuses = await Promise.all(Array.from({ length: 20 }, () => login(direct, staff.user.email, 'wrong password, wrong')));
    const through = statuses.filter((s) => s === 401).length;
    const refused = statuses.filter((s) => s === 429).length;
    figure(ITEM, '20 concurrent wrong guesses: checked', through);
    figure(ITEM, '20 concurrent wrong guesses: refused (429)', refused);
    expect(through + refused).toBe(20);
    expect(through).toBeLessThanOrEqual(MAX_FAILURES);
    // The right password is refused too while the account's limit holds.
    expect(await login(direct, staff.user.email, staff.password)).toBe(429);
  });

  it('behind a trusted proxy, one client locks out only itself', async () => {
    const other = await staffSession(proxied, 'interviewer');
    const client = (n: number) => `198.51.100.${n}`;
    // One client guesses at several accounts until it is refused.
    const statuses: number[] = [];
    for (let i = 0; i < MAX_FAILURES + 2; i++) statuses.push(await login(proxied, `nobody-${i}@example.test`, 'guess', client(7)));
    expect(statuses.slice(0, MAX_FAILURES).every((s) => s === 401)).toBe(true);
    expect(statuses[MAX_FAILURES]).toBe(429);
    // Another client behind the same proxy signs in as usual.
    expect(await login(proxied, other.user.email, other.password, client(8))).toBe(200);
    figure(ITEM, 'trusted proxy: other clients locked out by one', 'no');

    // Without trusting the proxy, every client counts as the proxy: one client's guesses would lock out everyone.
    const direct2 = (n: number) => login(direct, `someone-${n}@example.test`, 'guess', client(9));
    for (let i = 0; i < MAX_FAILURES; i++) await direct2(i);
    const victim = await staffSession(direct, 'interviewer').catch((err: Error) => err);
    expect(victim).toBeInstanceOf(Error);
    figure(ITEM, 'untrusted proxy (default): other clients locked out by one', 'yes (set OPSLAB_TRUST_PROXY)');
  });
});
