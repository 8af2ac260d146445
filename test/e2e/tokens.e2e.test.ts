// The admin's API tokens page in real Chromium against a real server: reached from Users; the form says what is
// missing; a token made with two scopes and an expiry shows its secret once, with a copy button; the secret works
// with curl-like requests on its scopes only; after a reload the page holds no secret and shows the last use;
// revoking after a confirmation refuses the token at once. An interviewer is told the page is for admins.
import { describe, expect, test } from 'vitest';
import { request } from '../helpers/api.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { pageRig, screenshot } from './browser.js';

describe('API tokens page', () => {
  const rig = pageRig();

  async function signIn(role: 'admin' | 'interviewer', name: string): Promise<StaffSession> {
    const staff = await staffSession(rig.server, role, name);
    const [cookieName, ...rest] = staff.cookie.split('=');
    await rig.browser.context.addCookies([{ name: cookieName!, value: rest.join('='), url: rig.server.url }]);
    return staff;
  }

  test('create with scopes and expiry, copy the secret once, list, revoke', { timeout: 120_000 }, async () => {
    await signIn('admin', 'Ada Admin');
    await rig.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: rig.server.url });
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/manage/users`);
    await page.getByTestId('tokens-link').click();
    await page.waitForURL(/\/manage\/tokens$/);
    await page.getByTestId('tokens-empty').waitFor();

    // Nothing filled in: both problems are said at their fields, nothing is created.
    await page.getByTestId('token-create').click();
    expect(await page.getByTestId('token-name-error').textContent()).toBe('Enter a name.');
    await page.getByTestId('token-name').fill('ats sync');
    await page.getByTestId('token-create').click();
    expect(await page.getByTestId('token-scopes-error').textContent()).toBe('Choose at least one scope.');
    expect((await request(rig.server.url, 'GET', '/api/manage/tokens', {})).status).toBe(401);

    await page.getByTestId('token-scope-invites-write').check();
    await page.getByTestId('token-scope-attempts-read').check();
    await page.getByTestId('token-expiry').selectOption('30');
    await page.getByTestId('token-create').click();
    await page.getByTestId('token-created').waitFor();
    const secret = await page.getByTestId('token-secret').inputValue();
    expect(secret).toMatch(/^opslab_pat_[A-Za-z0-9_-]{43}$/);
    await page.getByTestId('token-copy').click();
    await page.locator('.copy-status:not(:empty)').waitFor();
    expect(await page.locator('.copy-status').textContent()).toBe('Token copied.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const row = page.locator('[data-testid="token-row"][data-name="ats sync"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('invites:write');
    expect(await row.textContent()).toContain('attempts:read');
    expect(await row.textContent()).not.toContain('reviews:read');
    expect(await row.getByTestId('token-status').textContent()).toContain('Active');
    await screenshot(page, 'tokens-created');

    // The secret works on its scopes, and only there.
    const bearer = { authorization: `Bearer ${secret}` };
    expect((await request(rig.server.url, 'GET', '/api/manage/attempts', bearer)).status).toBe(200);
    expect((await request(rig.server.url, 'GET', `/api/manage/attempts/a_${'0'.repeat(20)}`, bearer)).status).toBe(403);

    // A reload shows the token, its last use, and no secret.
    await page.reload();
    await row.waitFor();
    expect(await page.getByTestId('token-created').count()).toBe(0);
    expect(await page.content()).not.toContain(secret.slice(15));
    expect(await row.getByTestId('token-last-used').textContent()).not.toBe('Never');

    // Revoke, after a confirmation; the token is refused at once.
    await row.getByTestId('token-revoke').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await page.getByTestId('dialog-confirm').click();
    await page.getByTestId('token-revoked-note').waitFor();
    await page.locator('[data-testid="token-row"][data-name="ats sync"][data-status="revoked"]').waitFor();
    expect(await row.getByTestId('token-revoke').count()).toBe(0);
    expect((await request(rig.server.url, 'GET', '/api/manage/attempts', bearer)).status).toBe(401);
    await screenshot(page, 'tokens-revoked');
    await page.close();
  });

  test('an interviewer is told the page is for admins', async () => {
    await signIn('interviewer', 'Ivo Interviewer');
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/manage/tokens`);
    await page.getByTestId('tokens-forbidden').waitFor();
    await page.close();
  });
});
