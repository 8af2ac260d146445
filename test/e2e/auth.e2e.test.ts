// Accounts in real Chromium against a real server: the first admin from the setup link, an interviewer added on
// /manage/users and activated in another browser, sign out, a wrong password, sign in again (keyboard only),
// `?next=`, and a disabled account losing its session.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, pageRig, screenshot } from './browser.js';

const ADMIN = { name: 'Ada Admin', email: 'ada@example.test', password: 'admin password 2030' };
const INTERVIEWER = { name: 'Ivo Interviewer', email: 'ivo@example.test', password: 'interviewer pass 99' };

describe('accounts in the browser', () => {
  const rig = pageRig();

  /** Links carry the configured public URL; the test server listens on a port chosen at start. */
  const onServer = (link: string) => {
    const url = new URL(link);
    return `${rig.server.url}${url.pathname}${url.hash}`;
  };

  const activeTestId = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);

  test('setup, add an interviewer, activate, sign out, a wrong password, sign in again', async () => {
    const admin = await rig.browser.newPage();
    // Before setup the login page says how to start.
    await admin.goto(`${rig.server.url}/login`);
    await admin.getByTestId('setup-required').waitFor();

    const setupLink = await rig.server.services.auth.setupLink();
    expect(setupLink).toMatch(/\/setup#[A-Za-z0-9_-]{43}$/);
    await admin.goto(onServer(setupLink!));
    await admin.getByTestId('setup-form').waitFor();
    expect(await activeTestId(admin)).toBe('setup-name');
    await admin.getByTestId('setup-name').fill(ADMIN.name);
    await admin.getByTestId('setup-email').fill(ADMIN.email);
    // A short password is caught before anything is sent.
    await admin.getByTestId('setup-password').fill('too short');
    await admin.getByTestId('setup-confirm').fill('too short');
    await admin.getByTestId('setup-submit').click();
    await expect(admin.getByTestId('setup-password-error').textContent()).resolves.toContain('at least 12 characters');
    expect(await rig.server.services.auth.setupRequired()).toBe(true);
    await admin.getByTestId('setup-password').fill(ADMIN.password);
    await admin.getByTestId('setup-confirm').fill(ADMIN.password);
    await admin.getByTestId('setup-submit').click();
    await admin.waitForURL(`${rig.server.url}/manage`);
    await expect(admin.getByTestId('staff-user').textContent()).resolves.toBe(`${ADMIN.name} (admin)`);
    // The link is spent.
    expect(await rig.server.services.auth.setupLink()).toBeNull();

    // Add an interviewer.
    await admin.getByRole('link', { name: 'Users' }).click();
    await admin.waitForURL(`${rig.server.url}/manage/users`);
    await admin.locator(`[data-testid="user-row"][data-email="${ADMIN.email}"]`).waitFor();
    await admin.getByTestId('user-name').fill(INTERVIEWER.name);
    await admin.getByTestId('user-email').fill(INTERVIEWER.email);
    await admin.getByTestId('user-role').selectOption('interviewer');
    await admin.getByTestId('user-add').click();
    await admin.getByTestId('user-created').waitFor();
    const activationLink = await admin.getByTestId('activation-link').inputValue();
    expect(activationLink).toMatch(/\/activate#[A-Za-z0-9_-]{43}$/);
    await admin.getByTestId('activation-copy').click();
    await admin.locator('.copy-status:not(:empty)').waitFor();
    const row = admin.locator(`[data-testid="user-row"][data-email="${INTERVIEWER.email}"]`);
    await row.waitFor();
    await expect(row.getByTestId('user-status').textContent()).resolves.toContain('Active');
    await screenshot(admin, 'users');
    // The same email again is refused with the server's reason.
    await admin.getByTestId('user-name').fill('Someone');
    await admin.getByTestId('user-email').fill(INTERVIEWER.email.toUpperCase());
    await admin.getByTestId('user-add').click();
    await expect(admin.getByTestId('user-add-error').textContent()).resolves.toContain('already an account');

    // The interviewer, in another browser (no shared cookies), activates the account.
    const other = await launchBrowser();
    try {
      const ivo = await other.newPage();
      await ivo.goto(onServer(activationLink));
      await ivo.getByTestId('activate-form').waitFor();
      await ivo.getByTestId('activate-password').fill(INTERVIEWER.password);
      await ivo.getByTestId('activate-confirm').fill(`${INTERVIEWER.password}x`);
      await ivo.getByTestId('activate-submit').click();
      await expect(ivo.getByTestId('activate-confirm-error').textContent()).resolves.toBe('The two passwords differ.');
      await ivo.getByTestId('activate-confirm').fill(INTERVIEWER.password);
      await ivo.getByTestId('activate-submit').click();
      await ivo.waitForURL(`${rig.server.url}/manage`);
      await expect(ivo.getByTestId('staff-user').textContent()).resolves.toBe(`${INTERVIEWER.name} (interviewer)`);
      // Interviewers have no Users link, and the page itself refuses them.
      expect(await ivo.getByRole('link', { name: 'Users' }).count()).toBe(0);

      // Sign out.
      await ivo.getByTestId('sign-out').click();
      await ivo.waitForURL(/\/login\?signedOut=1$/);
      await ivo.getByTestId('signed-out').waitFor();

      // A staff page without a session goes to the login page and comes back after it.
      await ivo.goto(`${rig.server.url}/manage/users`);
      await ivo.waitForURL(`${rig.server.url}/login?next=${encodeURIComponent('/manage/users')}`);

      // Keyboard only: the email field has the focus, Tab to the password, Enter sends.
      await ivo.getByTestId('login-form').waitFor();
      expect(await activeTestId(ivo)).toBe('login-email');
      await ivo.keyboard.type(INTERVIEWER.email);
      await ivo.keyboard.press('Tab');
      expect(await activeTestId(ivo)).toBe('login-password');
      await ivo.keyboard.type('not the password');
      await ivo.keyboard.press('Enter');
      await expect(ivo.getByTestId('login-error').textContent()).resolves.toBe('Wrong email or password.');
      expect(await activeTestId(ivo)).toBe('login-password');
      await screenshot(ivo, 'login');
      await ivo.keyboard.type(INTERVIEWER.password);
      await ivo.keyboard.press('Enter');
      await ivo.waitForURL(`${rig.server.url}/manage/users`);
      await ivo.getByTestId('users-forbidden').waitFor();

      // `next` pointing elsewhere is ignored.
      await ivo.getByTestId('sign-out').click();
      await ivo.waitForURL(/\/login\?signedOut=1$/);
      await ivo.goto(`${rig.server.url}/login?next=${encodeURIComponent('//evil.example/manage')}`);
      await ivo.getByTestId('login-email').fill(INTERVIEWER.email);
      await ivo.getByTestId('login-password').fill(INTERVIEWER.password);
      await ivo.getByTestId('login-submit').click();
      await ivo.waitForURL(`${rig.server.url}/manage`);

      // The admin disables the interviewer (after a confirmation); their next page load asks them to sign in.
      await admin.reload();
      const ivoRow = admin.locator(`[data-testid="user-row"][data-email="${INTERVIEWER.email}"]`);
      await ivoRow.getByTestId('user-disable').click();
      await admin.getByTestId('confirm-dialog').waitFor();
      await admin.getByTestId('dialog-cancel').click();
      await expect(ivoRow.getAttribute('data-disabled')).resolves.toBe('false');
      await ivoRow.getByTestId('user-disable').click();
      await admin.getByTestId('dialog-confirm').click();
      await admin.getByTestId('user-disabled-note').waitFor();
      await expect(ivoRow.getAttribute('data-disabled')).resolves.toBe('true');
      await expect(ivoRow.getByTestId('user-status').textContent()).resolves.toContain('Disabled');
      // The admin's own row has no Disable button.
      const adaRow = admin.locator(`[data-testid="user-row"][data-email="${ADMIN.email}"]`);
      expect(await adaRow.getByTestId('user-disable').count()).toBe(0);

      await ivo.reload();
      await ivo.waitForURL(/\/login\?next=/);
      await ivo.getByTestId('login-email').fill(INTERVIEWER.email);
      await ivo.getByTestId('login-password').fill(INTERVIEWER.password);
      await ivo.getByTestId('login-submit').click();
      await expect(ivo.getByTestId('login-error').textContent()).resolves.toBe('Wrong email or password.');
    } finally {
      await other.close();
    }

    // The admin signs out and in again.
    await admin.getByTestId('sign-out').click();
    await admin.waitForURL(/\/login\?signedOut=1$/);
    await admin.getByTestId('login-email').fill(ADMIN.email);
    await admin.getByTestId('login-password').fill(ADMIN.password);
    await admin.getByTestId('login-submit').click();
    await admin.waitForURL(`${rig.server.url}/manage`);
    await expect(admin.getByTestId('staff-user').textContent()).resolves.toBe(`${ADMIN.name} (admin)`);
  });

  test('too many failed sign-ins show the wait', async () => {
    // A browser without the admin's session.
    const fresh = await launchBrowser();
    try {
      const page = await fresh.newPage();
      await page.goto(`${rig.server.url}/login`);
      for (let i = 0; i < 6; i++) {
        await page.getByTestId('login-email').fill('nobody@example.test');
        await page.getByTestId('login-password').fill(`wrong password ${i}`);
        await page.getByTestId('login-submit').click();
        await page.locator('[data-testid="login-submit"]:not([aria-busy])').waitFor();
      }
      await expect(page.getByTestId('login-error').textContent()).resolves.toMatch(
        /^Too many failed sign-ins\. Try again in 1[45] minutes\.$/,
      );
    } finally {
      await fresh.close();
    }
  });
});
