// Item 25, single sign-on: forged, replayed and tampered callbacks against a real OpenID provider (oidc-provider
// on a loopback port) are refused before anyone is signed in; no account and no session come of a refused
// sign-in; neither the provider's tokens nor its codes reach the audit log or a redirect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { startSsoServer, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { CookieJar, finishAtOpslab, hop, signInAtProvider } from '../helpers/oidc-flow.js';
import type { TestServer } from '../helpers/server.js';
import { OIDC_MAX_PENDING, OIDC_STARTS_PER_CLIENT } from '../../server/src/auth/oidc.js';
import { LoginLimiter } from '../../server/src/auth/login-limiter.js';

const ITEM = '25 single sign-on';

describe(`security 25: single sign-on (${SANDBOX_RUNTIME})`, () => {
  let idp: TestProvider;
  let server: TestServer;

  beforeAll(async () => {
    idp = await startTestProvider({ idTokenTtlSeconds: 60 });
    idp.accounts.set('ada', { email: 'ada@example.test', name: 'Ada', groups: ['opslab-admins'] });
    idp.accounts.set('mallory', { email: 'mallory@example.test', name: 'Mallory', groups: ['hiring'] });
    idp.accounts.set('eve', { email: 'eve@elsewhere.test', name: 'Eve', groups: ['opslab-admins'] });
    server = await startSsoServer(idp);
    // Every sign-in here comes from one address: the per-client allowance has its own test below.
    server.services.oidc!.startLimiter = new LoginLimiter(1000, 600_000, Date.now);
  });
  afterAll(async () => {
    await server?.destroy();
    await idp?.close();
  });

  const count = (table: string) => (server.services.sqlite!.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  const callbackUrl = (params: Record<string, string>) =>
    `${server.url}/api/auth/oidc/callback?${new URLSearchParams({ iss: idp.issuer, ...params })}`;
  /** A sign-in begun in a fresh browser: its jar and the state it carries to the provider. */
  const begin = async () => {
    const jar = new CookieJar();
    const start = await hop(jar, `${server.url}/api/auth/oidc/start`);
    return { jar, state: new URL(start.location!).searchParams.get('state')!, start };
  };

  it('refuses forged, replayed and tampered callbacks; none signs anyone in', async () => {
    const refusals: Array<[string, string]> = [];
    const locations: string[] = [];
    let tried = 0;
    const refused = async (label: string, jar: CookieJar, url: string, reason: string) => {
      tried++;
      const { location, session } = await finishAtOpslab(jar, url);
      locations.push(location);
      expect(location, label).toBe(`/login?sso=${reason}`);
      expect(session, label).toBeUndefined();
      refusals.push([label, reason]);
    };

    // The binding cookie: HttpOnly, SameSite=Lax (it must survive the provider's cross-site redirect back), only
    // for the two sign-in routes, ten minutes.
    const { start } = await begin();
    const setCookie = (await fetch(`${server.url}/api/auth/oidc/start`, { redirect: 'manual' })).headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/^opslab_oidc=[\w-]{43}; Max-Age=600; Path=\/api\/auth\/oidc; HttpOnly; SameSite=Lax$/);
    const authorize = new URL(start.location!);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('nonce')).toMatch(/^[\w-]{43}$/);
    figure(ITEM, 'binding cookie', 'HttpOnly; SameSite=Lax; Path=/api/auth/oidc; 600 s');
    figure(ITEM, 'PKCE', `${authorize.searchParams.get('code_challenge_method')}`);

    await refused('no state', new CookieJar(), callbackUrl({ code: 'x' }), 'state');
    await refused('forged state and code', new CookieJar(), callbackUrl({ code: 'forged', state: 'forged-state' }), 'state');

    // A real sign-in finished in another browser (login CSRF: the attacker's callback in the victim's browser).
    {
      const jar = new CookieJar();
      const callback = await signInAtProvider(jar, server.url, idp.issuer, 'mallory');
      await refused('real callback, another browser', new CookieJar(), callback, 'state');
      await refused('real callback, right browser after it was tried', jar, callback, 'state');
    }
    // The right state with a forged binding cookie.
    {
      const jar = new CookieJar();
      const callback = await signInAtProvider(jar, server.url, idp.issuer, 'mallory');
      const forged = new CookieJar();
      forged.store(new URL(server.url), new Response(null, { headers: { 'set-cookie': 'opslab_oidc=forged-binding-value; Path=/api/auth/oidc' } }));
      await refused('forged binding cookie', forged, callback, 'state');
    }
    // A replay: the callback of a sign-in that worked, again in the same browser and in a fresh one.
    {
      const jar = new CookieJar();
      const callback = await signInAtProvider(jar, server.url, idp.issuer, 'ada');
      expect((await finishAtOpslab(jar, callback)).location).toBe('/manage');
      const sessionsAfterGood = count('sessions');
      await refused('replay, same browser', jar, callback, 'state');
      await refused('replay, fresh browser', new CookieJar(), callback, 'state');
      expect(count('sessions')).toBe(sessionsAfterGood);
    }
    const sessionsBefore = count('sessions');
    const usersBefore = count('users');
    // Code injection: the attacker's own code, put into the victim's sign-in (the victim's state and browser): the
    // victim's PKCE verifier does not match the attacker's code, and the provider refuses it.
    {
      const attacker = new CookieJar();
      const attackerCallback = new URL(await signInAtProvider(attacker, server.url, idp.issuer, 'mallory'));
      const victim = await begin();
      await refused(
        'code injection (another sign-in\'s code)',
        victim.jar,
        callbackUrl({ code: attackerCallback.searchParams.get('code')!, state: victim.state }),
        'provider',
      );
    }
    // A tampered code, and a callback naming another issuer (mix-up), each with a genuine state.
    {
      const jar = new CookieJar();
      const callback = new URL(await signInAtProvider(jar, server.url, idp.issuer, 'mallory'));
      callback.searchParams.set('code', `${callback.searchParams.get('code')}x`);
      await refused('tampered code', jar, callback.href, 'provider');
    }
    {
      const jar = new CookieJar();
      const callback = new URL(await signInAtProvider(jar, server.url, idp.issuer, 'mallory'));
      callback.searchParams.set('iss', 'https://evil.example');
      await refused('another issuer in the answer', jar, callback.href, 'token');
    }
    // An ID token for another client of the provider.
    {
      const other = { client_id: 'other-app', client_secret: 'other-app-secret-0123456789abcdef' };
      idp.addClient({ ...other, redirect_uris: [`${server.url}/api/auth/oidc/callback`] });
      idp.substitute = { from: 'opslab', to: other };
      try {
        const jar = new CookieJar();
        await refused('ID token for another audience', jar, await signInAtProvider(jar, server.url, idp.issuer, 'mallory'), 'token');
      } finally {
        idp.substitute = null;
      }
    }
    // An expired ID token (the server's clock 5 minutes on: past 60 s of lifetime and 30 s of tolerance).
    {
      const jar = new CookieJar();
      const callback = await signInAtProvider(jar, server.url, idp.issuer, 'mallory');
      server.services.oidc!.now = () => Date.now() + 5 * 60_000;
      try {
        await refused('expired ID token', jar, callback, 'expired');
      } finally {
        server.services.oidc!.now = Date.now;
      }
    }
    // A genuine sign-in by someone outside the allowed domains.
    {
      const jar = new CookieJar();
      await refused('outside the allowed domains', jar, await signInAtProvider(jar, server.url, idp.issuer, 'eve'), 'domain');
    }

    figure(ITEM, 'forged/replayed/tampered callbacks refused', `${refusals.length} of ${tried}`);
    expect(refusals).toHaveLength(13);
    expect(count('sessions')).toBe(sessionsBefore);
    expect(count('users')).toBe(usersBefore);
    figure(ITEM, 'sessions created by refused sign-ins', count('sessions') - sessionsBefore);
    figure(ITEM, 'accounts created by refused sign-ins', count('users') - usersBefore);
    // mallory never signed in: every one of her sign-ins was refused.
    expect((await server.services.auth.listUsers()).map((u) => u.email)).toEqual(['ada@example.test']);

    // Nothing the provider issued (codes, tokens) is kept or shown: the audit log and the redirects hold no JWT.
    const auditText = JSON.stringify(await server.services.auth.auditEntries(1000));
    const leaks = [auditText, ...locations].filter((text) => /eyJ[\w-]+\.eyJ/.test(text)).length;
    expect(leaks).toBe(0);
    figure(ITEM, 'ID tokens in the audit log or redirects', leaks);
    // Refusals of a begun sign-in are audited; callbacks with no known state (anyone can send them) are not.
    const failures = (await server.services.auth.auditEntries(1000)).filter((e) => e.action === 'login-failed');
    expect(failures).toHaveLength(8);
    figure(ITEM, 'refusals of begun sign-ins in the audit log', `${failures.length} (unknown states: server log)`);
  });

  it('bounds the sign-ins begun and not finished', async () => {
    const oidc = server.services.oidc!;
    const pending = count('oidc_logins');
    oidc.maxPending = pending + 5;
    try {
      const answers: string[] = [];
      for (let i = 0; i < 8; i++) answers.push((await hop(new CookieJar(), `${server.url}/api/auth/oidc/start`)).location!);
      expect(answers.filter((l) => l.startsWith(idp.issuer))).toHaveLength(5);
      expect(answers.slice(5)).toEqual(Array(3).fill(`${server.url}/login?sso=rate`));
      expect(count('oidc_logins')).toBe(pending + 5);
    } finally {
      oidc.maxPending = OIDC_MAX_PENDING;
    }
    figure(ITEM, 'sign-ins begun and not finished, at most', OIDC_MAX_PENDING);
  });

  it('the server log holds no authorization code or state', async () => {
    const lines: string[] = [];
    const logged = await startSsoServer(idp, {}, { write: (line) => lines.push(line) });
    try {
      const jar = new CookieJar();
      const callback = new URL(await signInAtProvider(jar, logged.url, idp.issuer, 'ada'));
      expect((await finishAtOpslab(jar, callback.href)).location).toBe('/manage');
      // And a refused one (replayed), which the route logs.
      expect((await finishAtOpslab(jar, callback.href)).location).toBe('/login?sso=state');
      const secrets = [callback.searchParams.get('code')!, callback.searchParams.get('state')!];
      const text = lines.join('');
      expect(text).toContain('/api/auth/oidc/callback?…');
      expect(text).toContain('single sign-on refused');
      const leaked = secrets.filter((secret) => text.includes(secret)).length;
      expect(leaked).toBe(0);
      figure(ITEM, 'authorization codes and states in the server log', leaked);
    } finally {
      await logged.destroy();
    }
  });

  it('limits the sign-ins one client address may begin', async () => {
    const fresh = await startSsoServer(idp);
    try {
      const answers: string[] = [];
      for (let i = 0; i < OIDC_STARTS_PER_CLIENT + 3; i++) {
        answers.push((await hop(new CookieJar(), `${fresh.url}/api/auth/oidc/start`)).location!);
      }
      const begun = answers.filter((l) => l.startsWith(idp.issuer)).length;
      expect(begun).toBe(OIDC_STARTS_PER_CLIENT);
      expect(answers.slice(OIDC_STARTS_PER_CLIENT)).toEqual(Array(3).fill(`${fresh.url}/login?sso=rate`));
      expect((fresh.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM oidc_logins').get() as { n: number }).n).toBe(OIDC_STARTS_PER_CLIENT);
      figure(ITEM, `starts from one address in 10 min (${OIDC_STARTS_PER_CLIENT + 3} tried)`, `${begun} begun, ${answers.length - begun} refused`);
    } finally {
      await fresh.destroy();
    }
  });

  it('keeps a begun sign-in for at most 10 minutes, and only once', async () => {
    const before = count('oidc_logins');
    const { jar, state } = await begin();
    expect(count('oidc_logins')).toBe(before + 1);
    server.services.oidc!.now = () => Date.now() + 10 * 60_000 + 1000;
    try {
      expect((await finishAtOpslab(jar, callbackUrl({ code: 'x', state }))).location).toBe('/login?sso=state');
    } finally {
      server.services.oidc!.now = Date.now;
    }
    // Taken at the first try, whatever came of it.
    expect(count('oidc_logins')).toBe(before);
    figure(ITEM, 'a begun sign-in lives', '10 min, one use');
  });
});
