// Single sign-on against a real OpenID provider (oidc-provider on a loopback port, its own keys), driven by hand
// over HTTP: every redirect followed with fetch, cookies carried per origin and path.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSsoServer, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { CookieJar, finishAtOpslab, hop, signInAtProvider } from '../helpers/oidc-flow.js';
import type { TestServer } from '../helpers/server.js';

describe('single sign-on with OpenID Connect', () => {
  let idp: TestProvider;
  let server: TestServer;

  beforeAll(async () => {
    idp = await startTestProvider({ idTokenTtlSeconds: 60 });
    idp.accounts.set('ada', { email: 'Ada@Example.test', name: 'Ada Lovelace', groups: ['opslab-admins', 'staff'] });
    idp.accounts.set('ian', { email: 'ian@example.test', name: 'Ian Interviewer', groups: ['hiring'] });
    idp.accounts.set('eve', { email: 'eve@elsewhere.test', name: 'Eve Outsider', groups: ['opslab-admins'] });
    idp.accounts.set('una', { email: 'una@example.test', name: 'Una Unverified', email_verified: false, groups: ['hiring'] });
    idp.accounts.set('nog', { email: 'nog@example.test', name: 'No Group', groups: ['staff'] });
  });
  afterAll(async () => {
    await idp.close();
  });
  beforeEach(async () => {
    idp.substitute = null;
    server = await startSsoServer(idp);
  });
  afterEach(async () => {
    await server.destroy();
  });

  const users = () => server.services.auth.listUsers();
  const sessions = () => (server.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n;
  const audit = async () => (await server.services.auth.auditEntries(1000)).reverse();
  const signIn = async (account: string, next?: string) => {
    const jar = new CookieJar();
    const callback = await signInAtProvider(jar, server.url, idp.issuer, account, next);
    return { jar, callback, ...(await finishAtOpslab(jar, callback)) };
  };
  const state = async (session: string | undefined) =>
    (await fetch(`${server.url}/api/auth/state`, { headers: { cookie: `opslab_session=${session}` } })).json();

  it('tells the login page how staff sign in', async () => {
    const body = await (await fetch(`${server.url}/api/auth/state`)).json();
    expect(body.signIn).toEqual({ password: true, sso: { name: 'Test SSO' } });
  });

  it('first sign-in creates the account with the mapped role; the session is a normal session', async () => {
    const { callback, location, session } = await signIn('ada', '/manage/invites');
    expect(new URL(callback).pathname).toBe('/api/auth/oidc/callback');
    expect(location).toBe('/manage/invites');
    const signedIn = await state(session);
    expect(signedIn.user).toMatchObject({ email: 'ada@example.test', name: 'Ada Lovelace', role: 'admin', disabled: false });
    expect(signedIn.csrfToken).toMatch(/^[\w-]{43}$/);
    // The same session as a password sign-in: an admin route answers, a change needs the CSRF token.
    const cookie = `opslab_session=${session}`;
    expect((await fetch(`${server.url}/api/manage/users`, { headers: { cookie } })).status).toBe(200);
    const noCsrf = await fetch(`${server.url}/api/auth/logout`, { method: 'POST', headers: { cookie, origin: server.url } });
    expect(noCsrf.status).toBe(403);
    const created = (await audit()).find((e) => e.action === 'user.create');
    expect(created?.detail).toMatchObject({ email: 'ada@example.test', role: 'admin', via: 'sso' });
    expect((await audit()).some((e) => e.action === 'login' && (e.detail as { method?: string }).method === 'sso')).toBe(true);
    // The subject is kept; no password.
    const row = server.services.sqlite!.prepare('SELECT password_hash, oidc_issuer, oidc_subject FROM users').get();
    expect(row).toEqual({ password_hash: null, oidc_issuer: idp.issuer, oidc_subject: 'ada' });
  });

  it('later sign-ins update the role from the groups, audited when it changes', async () => {
    await signIn('ian');
    expect(await users()).toMatchObject([{ email: 'ian@example.test', role: 'interviewer' }]);
    idp.accounts.get('ian')!.groups = ['opslab-admins'];
    const again = await signIn('ian');
    expect((await state(again.session)).user.role).toBe('admin');
    expect(await users()).toHaveLength(1);
    const change = (await audit()).filter((e) => e.action === 'user.role');
    expect(change).toHaveLength(1);
    expect(change[0]!.detail).toMatchObject({ from: 'interviewer', to: 'admin', via: 'sso' });
    await signIn('ian');
    expect((await audit()).filter((e) => e.action === 'user.role')).toHaveLength(1);
    idp.accounts.get('ian')!.groups = ['hiring'];
  });

  it('an unsafe next goes to /manage', async () => {
    expect((await signIn('ian', 'https://evil.test/manage')).location).toBe('/manage');
    expect((await signIn('ian', '//evil.test/manage')).location).toBe('/manage');
  });

  it('a replayed callback is refused: the state is single use', async () => {
    const first = await signIn('ian');
    expect(first.location).toBe('/manage');
    const replay = await hop(first.jar, first.callback);
    expect(replay.location).toBe(`${server.url}/login?sso=state`);
    // From a fresh browser too.
    const other = await hop(new CookieJar(), first.callback);
    expect(other.location).toBe(`${server.url}/login?sso=state`);
    expect(sessions()).toBe(1);
  });

  it('a callback in another browser than the one that began the sign-in is refused', async () => {
    const jar = new CookieJar();
    const callback = await signInAtProvider(jar, server.url, idp.issuer, 'ian');
    const elsewhere = await finishAtOpslab(new CookieJar(), callback);
    expect(elsewhere).toEqual({ location: '/login?sso=state', session: undefined });
    // Taken: the right browser cannot use it afterwards either.
    expect((await finishAtOpslab(jar, callback)).location).toBe('/login?sso=state');
    expect(await users()).toHaveLength(0);
  });

  it('an ID token for another audience is refused', async () => {
    // The provider serves this sign-in as a second client registered with the same redirect URI.
    const other = { client_id: 'other-app', client_secret: 'other-app-secret-0123456789abcdef' };
    idp.addClient({ ...other, redirect_uris: [`${server.url}/api/auth/oidc/callback`] });
    idp.substitute = { from: 'opslab', to: other };
    const { location, session } = await signIn('ada');
    expect(location).toBe('/login?sso=token');
    expect(session).toBeUndefined();
    const failed = (await audit()).find((e) => e.action === 'login-failed');
    expect(failed?.detail).toMatchObject({ method: 'sso', reason: 'token', claim: 'aud' });
    expect(await users()).toHaveLength(0);
  });

  it('an expired ID token is refused (the server clock past its lifetime and the tolerance)', async () => {
    const oidc = server.services.oidc!;
    const jar = new CookieJar();
    const callback = await signInAtProvider(jar, server.url, idp.issuer, 'ada');
    // 60 s of lifetime + 30 s of tolerance < 5 minutes < the 10 minutes a sign-in may take.
    oidc.now = () => Date.now() + 5 * 60_000;
    const { location } = await finishAtOpslab(jar, callback);
    expect(location).toBe('/login?sso=expired');
    expect((await audit()).find((e) => e.action === 'login-failed')?.detail).toMatchObject({ reason: 'expired', claim: 'exp' });
    expect(await users()).toHaveLength(0);
  });

  it('a sign-in that took longer than 10 minutes is refused', async () => {
    const jar = new CookieJar();
    const callback = await signInAtProvider(jar, server.url, idp.issuer, 'ada');
    server.services.oidc!.now = () => Date.now() + 11 * 60_000;
    expect((await finishAtOpslab(jar, callback)).location).toBe('/login?sso=state');
  });

  it('refuses a user outside the allowed domains, with an unverified email, or in no mapped group; no account is made', async () => {
    expect((await signIn('eve')).location).toBe('/login?sso=domain');
    expect((await signIn('una')).location).toBe('/login?sso=email');
    expect((await signIn('nog')).location).toBe('/login?sso=role');
    expect(await users()).toHaveLength(0);
    expect(sessions()).toBe(0);
    const reasons = (await audit()).filter((e) => e.action === 'login-failed').map((e) => (e.detail as { reason: string }).reason);
    expect(reasons).toEqual(['domain', 'email', 'role']);
  });

  it('a disabled user cannot sign in through the provider', async () => {
    await signIn('ian');
    const [ian] = await users();
    await server.services.auth.disableUser(null, ian!.id);
    const { location, session } = await signIn('ian');
    expect(location).toBe('/login?sso=disabled');
    expect(session).toBeUndefined();
    expect(sessions()).toBe(0);
  });

  it('an admin made through the provider counts as an admin who can sign in', async () => {
    idp.accounts.set('ada2', { email: 'ada2@example.test', groups: ['opslab-admins'] });
    await signIn('ada');
    await signIn('ada2');
    const [ada, ada2] = await users();
    // Two admins without passwords: one may disable the other, and the last one is kept.
    expect((await server.services.auth.disableUser({ ...ada!, role: 'admin' }, ada2!.id)).disabled).toBe(true);
    await expect(server.services.auth.disableUser(null, ada!.id)).rejects.toThrow(/last active admin/);
    idp.accounts.delete('ada2');
  });

  it('links an existing account with the same email; an account linked to someone else is refused', async () => {
    await server.services.auth.createUser({ email: 'ian@example.test', name: 'Ian', role: 'interviewer', password: 'a long password 1' });
    const first = await signIn('ian');
    expect((await state(first.session)).user.email).toBe('ian@example.test');
    expect(await users()).toHaveLength(1);
    expect((await audit()).some((e) => e.action === 'user.link')).toBe(true);
    // Another subject at the provider with the same email.
    idp.accounts.set('ian2', { email: 'ian@example.test', groups: ['hiring'] });
    expect((await signIn('ian2')).location).toBe('/login?sso=conflict');
    idp.accounts.delete('ian2');
  });

  it('the provider refusing (the user cancelled) comes back as a message', async () => {
    const jar = new CookieJar();
    const start = await hop(jar, `${server.url}/api/auth/oidc/start`);
    const state = new URL(start.location!).searchParams.get('state')!;
    const back = await hop(jar, `${server.url}/api/auth/oidc/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(idp.issuer)}`);
    expect(back.location).toBe(`${server.url}/login?sso=provider`);
  });
});

describe('password sign-in off', () => {
  let idp: TestProvider;
  let server: TestServer;

  beforeAll(async () => {
    idp = await startTestProvider();
    idp.accounts.set('ada', { email: 'ada@example.test', groups: ['opslab-admins'] });
    server = await startSsoServer(idp, { OPSLAB_PASSWORD_LOGIN: 'off' });
  });
  afterAll(async () => {
    await server.destroy();
    await idp.close();
  });

  it('refuses password sign-in but keeps the first admin setup link and single sign-on', async () => {
    expect((await (await fetch(`${server.url}/api/auth/state`)).json()).signIn).toEqual({ password: false, sso: { name: 'Test SSO' } });
    // Break-glass: the setup link printed at start still creates the first admin.
    const link = (await server.services.auth.setupLink())!;
    const setup = await fetch(`${server.url}/api/auth/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: server.url },
      body: JSON.stringify({ token: link.slice(link.indexOf('#') + 1), email: 'root@example.test', name: 'Root', password: 'a long password 1' }),
    });
    expect(setup.status).toBe(201);
    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: server.url },
      body: JSON.stringify({ email: 'root@example.test', password: 'a long password 1' }),
    });
    expect(login.status).toBe(403);
    expect((await login.json()).error.message).toMatch(/Password sign-in is turned off/);
    const jar = new CookieJar();
    const { location } = await finishAtOpslab(jar, await signInAtProvider(jar, server.url, idp.issuer, 'ada'));
    expect(location).toBe('/manage');
  });
});

describe('a default role for users in no group', () => {
  let idp: TestProvider;
  let server: TestServer;

  beforeAll(async () => {
    idp = await startTestProvider();
    idp.accounts.set('kim', { email: 'kim@example.test', name: 'Kim' });
    idp.accounts.set('root', { email: 'root@example.test', name: 'Root' });
    server = await startSsoServer(idp, {
      OPSLAB_OIDC_ADMIN_GROUPS: '',
      OPSLAB_OIDC_INTERVIEWER_GROUPS: '',
      OPSLAB_OIDC_DEFAULT_ROLE: 'interviewer',
    });
  });
  afterAll(async () => {
    await server.destroy();
    await idp.close();
  });

  const signIn = async (account: string) => {
    const jar = new CookieJar();
    return finishAtOpslab(jar, await signInAtProvider(jar, server.url, idp.issuer, account));
  };

  it('gives a new account the default role, and an existing admin keeps theirs', async () => {
    expect((await signIn('kim')).location).toBe('/manage');
    // The first admin, made with the setup link, signs in through the provider with the same email.
    await server.services.auth.createUser({ email: 'root@example.test', name: 'Root', role: 'admin', password: 'a long password 1' });
    expect((await signIn('root')).location).toBe('/manage');
    expect((await server.services.auth.listUsers()).map((u) => [u.email, u.role])).toEqual([
      ['kim@example.test', 'interviewer'],
      ['root@example.test', 'admin'],
    ]);
    expect((await server.services.auth.auditEntries(100)).some((e) => e.action === 'user.role')).toBe(false);
  });
});
