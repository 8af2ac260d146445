// Single sign-on in real Chromium: the login page's "Sign in with …" button, the provider's sign-in page (a real
// oidc-provider on `localhost`, another site than opslab on 127.0.0.1, as a company's provider is), and back on
// the dashboard with the role the groups give; refusals come back to the login page as a sentence.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, type TestBrowser } from './browser.js';
import { startSsoServer, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import type { TestServer } from '../helpers/server.js';
import { ensureWebBuilt } from '../helpers/web-build.js';

describe('single sign-on in the browser', () => {
  let idp: TestProvider;
  let server: TestServer;
  const browsers: TestBrowser[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    idp = await startTestProvider({ host: 'localhost', idTokenTtlSeconds: 60 });
    idp.accounts.set('ada', { email: 'ada@example.test', name: 'Ada Lovelace', groups: ['opslab-admins'] });
    idp.accounts.set('ian', { email: 'ian@example.test', name: 'Ian Interviewer', groups: ['hiring'] });
    idp.accounts.set('eve', { email: 'eve@elsewhere.test', name: 'Eve Outsider', groups: ['opslab-admins'] });
    server = await startSsoServer(idp);
  });
  afterAll(async () => {
    try {
      for (const browser of browsers) await browser.close();
    } finally {
      await server?.destroy();
      await idp?.close();
    }
  });

  /** A fresh browser (no provider session), its page on the login page. */
  const freshLoginPage = async (query = ''): Promise<Page> => {
    const browser = await launchBrowser();
    browsers.push(browser);
    const page = await browser.newPage();
    await page.goto(`${server.url}/login${query}`);
    return page;
  };

  /** Presses "Sign in with Test SSO" and signs in at the provider; returns the callback URL the browser visited. */
  const ssoSignIn = async (page: Page, account: string, atProvider?: () => void): Promise<string> => {
    const callbacks: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/auth/oidc/callback')) callbacks.push(r.url());
    });
    await page.getByTestId('sso-sign-in').click();
    await page.waitForURL(/localhost:\d+\/interaction\//);
    await page.locator('#account').fill(account);
    atProvider?.();
    await page.locator('#provider-sign-in').click();
    await page.waitForURL((url) => url.origin === server.url && !url.pathname.startsWith('/api/'));
    expect(callbacks).toHaveLength(1);
    return callbacks[0]!;
  };

  const ssoError = async (page: Page) => {
    await page.getByTestId('sso-error').waitFor();
    return page.getByTestId('sso-error').textContent();
  };

  test('an admin and an interviewer sign in and land on the dashboard with their roles', async () => {
    const page = await freshLoginPage('?next=%2Fmanage%2Finvites');
    await expect(page.getByTestId('sso-sign-in').textContent()).resolves.toBe('Sign in with Test SSO');
    // Password sign-in is on: the form is there too.
    await page.getByTestId('login-email').waitFor();
    await screenshot(page, 'oidc-login');
    await ssoSignIn(page, 'ada');
    await page.waitForURL(`${server.url}/manage/invites`);
    await expect(page.getByTestId('staff-user').textContent()).resolves.toBe('Ada Lovelace (admin)');
    await screenshot(page, 'oidc-signed-in');

    const other = await freshLoginPage();
    await ssoSignIn(other, 'ian');
    await other.waitForURL(`${server.url}/manage`);
    await expect(other.getByTestId('staff-user').textContent()).resolves.toBe('Ian Interviewer (interviewer)');
    expect((await server.services.auth.listUsers()).map((u) => [u.email, u.role])).toEqual([
      ['ada@example.test', 'admin'],
      ['ian@example.test', 'interviewer'],
    ]);
  });

  test('the same callback opened again is refused', async () => {
    const page = await freshLoginPage();
    const callback = await ssoSignIn(page, 'ian');
    await page.getByTestId('staff-user').waitFor();
    await page.goto(callback);
    await page.waitForURL(`${server.url}/login?sso=state`);
    // Still signed in from the first: the login page goes on to the dashboard; a fresh browser shows the message.
    const fresh = await freshLoginPage();
    await fresh.goto(callback);
    await expect(ssoError(fresh)).resolves.toContain('expired or was already used');
  });

  test('a user outside the allowed domains is refused, and no account is made', async () => {
    const page = await freshLoginPage();
    await ssoSignIn(page, 'eve');
    expect(new URL(page.url()).search).toBe('?sso=domain');
    await expect(ssoError(page)).resolves.toContain('not in a domain allowed');
    await screenshot(page, 'oidc-refused-domain');
    expect((await server.services.auth.listUsers()).some((u) => u.email === 'eve@elsewhere.test')).toBe(false);
  });

  test('an ID token for another audience is refused', async () => {
    const other = { client_id: 'other-app', client_secret: 'other-app-secret-0123456789abcdef' };
    idp.addClient({ ...other, redirect_uris: [`${server.url}/api/auth/oidc/callback`] });
    idp.substitute = { from: 'opslab', to: other };
    try {
      const page = await freshLoginPage();
      await ssoSignIn(page, 'ada');
      await expect(ssoError(page)).resolves.toContain('could not be verified');
    } finally {
      idp.substitute = null;
    }
  });

  test('an expired ID token is refused', async () => {
    const page = await freshLoginPage();
    const oidc = server.services.oidc!;
    try {
      // While the person is at the provider, the server's clock jumps 5 minutes: past the ID token's 60 s and the
      // 30 s tolerance, within the 10 minutes a sign-in may take.
      await ssoSignIn(page, 'ada', () => {
        oidc.now = () => Date.now() + 5 * 60_000;
      });
      await expect(ssoError(page)).resolves.toContain('had expired');
    } finally {
      oidc.now = Date.now;
    }
  });

  test('a disabled user is refused', async () => {
    const ian = (await server.services.auth.listUsers()).find((u) => u.email === 'ian@example.test')!;
    await server.services.auth.disableUser(null, ian.id);
    const page = await freshLoginPage();
    await ssoSignIn(page, 'ian');
    await expect(ssoError(page)).resolves.toContain('disabled');
  });
});

describe('password sign-in off, in the browser', () => {
  let idp: TestProvider;
  let server: TestServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    ensureWebBuilt();
    idp = await startTestProvider({ host: 'localhost' });
    idp.accounts.set('ada', { email: 'ada@example.test', name: 'Ada Lovelace', groups: ['opslab-admins'] });
    server = await startSsoServer(idp, { OPSLAB_PASSWORD_LOGIN: 'off' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await server?.destroy();
      await idp?.close();
    }
  });

  test('the login page has only the single sign-on button', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/login`);
    await page.getByTestId('sso-sign-in').waitFor();
    expect(await page.getByTestId('login-email').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('sso-sign-in');
    await screenshot(page, 'oidc-password-off');
    await page.getByTestId('sso-sign-in').click();
    await page.locator('#account').fill('ada');
    await page.locator('#provider-sign-in').click();
    await page.waitForURL(`${server.url}/manage`);
    await expect(page.getByTestId('staff-user').textContent()).resolves.toBe('Ada Lovelace (admin)');
  });
});
