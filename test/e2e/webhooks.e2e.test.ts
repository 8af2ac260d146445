// The admin's webhooks page in real Chromium against a real server, a real sandbox and a real receiver: reached
// from the staff navigation, an endpoint registered with its secret shown once, a real event delivered and listed
// in the delivery log, a re-send from the log reaching the receiver again with the same event id, the events
// edited, the endpoint disabled and deleted.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { request } from '../helpers/api.js';
import { staffSession } from '../helpers/staff.js';
import { startReceiver, verifyDocumented, type Receiver } from '../helpers/webhook-receiver.js';
import { pageRig, screenshot } from './browser.js';

describe('webhooks page', () => {
  const rig = pageRig({
    env: {
      OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/unit-exercises'),
      OPSLAB_WEBHOOK_ALLOW_PRIVATE: '1',
      OPSLAB_WEBHOOK_RETRY_BASE_SECONDS: '0.3',
    },
  });
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  test('register, deliver, read the log, re-send, edit, disable, delete', { timeout: 120_000 }, async () => {
    const admin = await staffSession(rig.server, 'admin', 'Ada Admin');
    const interviewer = await staffSession(rig.server, 'interviewer', 'Ian Interviewer');
    const [cookieName, ...rest] = admin.cookie.split('=');
    await rig.browser.context.addCookies([{ name: cookieName!, value: rest.join('='), url: rig.server.url }]);
    const page = await rig.browser.newPage();

    await page.goto(`${rig.server.url}/manage`);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.waitForURL(/\/manage\/webhooks$/);
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();

    // A refused address: the server's reason, nothing registered.
    await page.getByLabel('URL').fill('ftp://example.com/hook');
    await page.getByTestId('webhook-add').click();
    await expect.poll(() => page.getByText('Enter an http:// or https:// URL.').count(), { timeout: 10_000 }).toBe(1);

    await page.getByLabel('URL').fill(receiver.url);
    await page.getByLabel('Description (optional)').fill('ATS');
    await page.getByTestId('webhook-add').click();
    const secret = await page.getByTestId('webhook-created-secret').inputValue();
    expect(secret).toMatch(/^whsec_/);
    await page.getByTestId('webhook-row').waitFor();
    expect(await page.getByTestId('webhook-row').count()).toBe(1);
    await screenshot(page, 'webhooks-registered');

    // A real event: a candidate starts an invite.
    const inv = await request(rig.server.url, 'POST', '/api/manage/invites', interviewer.headers, {
      exerciseId: 'graded-demo', candidateName: 'Casey', candidateEmail: 'casey@example.test', showFeedback: false,
    });
    const claim = new URL(inv.body.invite.link).hash.slice(1);
    expect((await request(rig.server.url, 'POST', '/api/invite/start', { authorization: `Bearer ${claim}` })).status).toBe(201);
    const [first] = await receiver.waitFor((all) => all.some((r) => r.body?.type === 'invite.started'));
    expect(verifyDocumented(secret, first!.raw, first!.headers['opslab-signature'] as string)).toBe(true);

    // The secret is not shown again once the page is reloaded.
    await page.reload();
    await page.getByTestId('webhook-row').waitFor();
    expect(await page.content()).not.toContain(secret);

    // The delivery log.
    await page.getByTestId('webhook-deliveries').click();
    const delivery = page.getByTestId('webhook-delivery').first();
    await delivery.waitFor();
    await expect.poll(async () => {
      await page.getByTestId('webhook-log-refresh').click();
      return page.getByTestId('webhook-delivery').first().getAttribute('data-status');
    }, { timeout: 15_000 }).toBe('delivered');
    expect(await page.getByTestId('webhook-log-table').innerText()).toContain('invite.started');
    await screenshot(page, 'webhooks-log');

    // Re-send: the same event again.
    await page.getByTestId('webhook-resend').first().click();
    await receiver.waitFor((all) => all.length >= 2);
    expect(receiver.received[1]!.body.id).toBe(first!.body.id);

    // A new secret, shown once; the next deliveries are signed with it.
    await page.getByTestId('webhook-rotate').click();
    await page.getByTestId('dialog-confirm').click();
    await page.getByText('New signing secret').waitFor();
    const rotated = await page.getByTestId('webhook-created-secret').inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await page.getByTestId('webhook-resend').first().click();
    await receiver.waitFor((all) => all.length >= 3);
    const third = receiver.received[2]!;
    expect(verifyDocumented(rotated, third.raw, third.headers['opslab-signature'] as string)).toBe(true);
    expect(verifyDocumented(secret, third.raw, third.headers['opslab-signature'] as string)).toBe(false);

    // Edit the events: only attempt.graded.
    await page.getByTestId('webhook-edit').click();
    for (const box of await page.getByTestId(/^webhook-edit-wh_.*-event$/).all()) {
      if ((await box.getAttribute('value')) !== 'attempt.graded') await box.uncheck();
    }
    await page.getByTestId('webhook-edit-save').click();
    await page.getByTestId('webhook-updated').waitFor();
    const list = await request(rig.server.url, 'GET', '/api/manage/webhooks', admin.headers);
    expect(list.body.webhooks[0].events).toEqual(['attempt.graded']);

    // Disable, then delete.
    await page.getByTestId('webhook-toggle').click();
    await expect.poll(() => page.getByTestId('webhook-row').getAttribute('data-enabled'), { timeout: 10_000 }).toBe('false');
    await page.getByTestId('webhook-delete').click();
    await page.getByTestId('dialog-confirm').click();
    await page.getByTestId('webhook-deleted').waitFor();
    expect(await page.getByTestId('webhook-row').count()).toBe(0);
    expect((await request(rig.server.url, 'GET', '/api/manage/webhooks', admin.headers)).body.webhooks).toEqual([]);
  });

  test('interviewers have no webhooks link and the page refuses them', async () => {
    const staff = await staffSession(rig.server, 'interviewer');
    const [cookieName, ...rest] = staff.cookie.split('=');
    await rig.browser.context.clearCookies();
    await rig.browser.context.addCookies([{ name: cookieName!, value: rest.join('='), url: rig.server.url }]);
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/manage/webhooks`);
    await page.getByTestId('webhooks-forbidden').waitFor();
    expect(await page.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);
    await page.close();
  });
});
