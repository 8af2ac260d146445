// The workspace around the terminal, in real Chromium against a real server: keyboard use, flow control,
// shell restart, a second tab, submitting, the countdown warnings and the error states of the catalog.
import { beforeEach, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import {
  recordTerminalFrames,
  screenshot,
  startFirstExercise,
  terminalHasFocus,
  waitForConnection,
  waitForTerminalText,
  pageRig,
} from './browser.js';

describe('workspace', () => {
  const rig = pageRig();
  // Each test is a new trainee: their own practice token, no attempt of an earlier test in their catalog.
  beforeEach(() => rig.browser.context.clearCookies());

  async function activeTestId(page: Page): Promise<string | null> {
    return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
  }

  test('keyboard only: F6 leaves the terminal for Submit and comes back; Tab reaches Submit', async () => {
    const page = await rig.browser.newPage();
    await startFirstExercise(page, rig.server.url);
    expect(await terminalHasFocus(page)).toBe(true);

    // Tab belongs to the shell (completion) ...
    await page.keyboard.type('ech');
    await page.keyboard.press('Tab');
    expect(await terminalHasFocus(page)).toBe(true);
    await page.keyboard.press('Control+U');

    // ... F6 is the way out, to Submit, with a visible focus ring.
    await page.keyboard.press('F6');
    expect(await activeTestId(page)).toBe('submit-button');
    const outline = await page.getByTestId('submit-button').evaluate((el) => getComputedStyle(el).outlineStyle);
    expect(outline).not.toBe('none');
    await screenshot(page, 'keyboard-submit-focused');

    await page.keyboard.press('F6');
    expect(await terminalHasFocus(page)).toBe(true);

    // From the top of the page, Tab reaches Submit after the product link.
    await page.keyboard.press('F6');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await activeTestId(page)).toBe('submit-button');
    await page.close();
  });

  test('flow control: every output byte is acknowledged, in acks of at most 32 KiB', async () => {
    const page = await rig.browser.newPage();
    const frames = recordTerminalFrames(page);
    await startFirstExercise(page, rig.server.url);

    // About 1.3 MB: several times the server's high watermark, so output only flows if acks do.
    await page.keyboard.type('seq 1 200000; echo done-$((1+1))');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'done-2', 60_000);
    await page.waitForTimeout(500);

    const acks = frames.sent.filter((m) => m.type === 'ack').map((m) => m.bytes as number);
    expect(acks.length).toBeGreaterThan(10);
    expect(Math.max(...acks)).toBeLessThanOrEqual(32 * 1024);
    expect(acks.reduce((a, b) => a + b, 0)).toBe(frames.receivedBytes);
    expect(frames.receivedBytes).toBeGreaterThan(1_000_000);
    await page.close();
  });

  test('the shell exits: a banner offers a restart, which gives a working shell again', async () => {
    const page = await rig.browser.newPage();
    await startFirstExercise(page, rig.server.url);
    await page.keyboard.type('touch /root/kept && exit');
    await page.keyboard.press('Enter');

    const restart = page.getByTestId('restart-shell');
    await restart.waitFor();
    await expect(page.getByTestId('shell-banner').textContent()).resolves.toContain('The shell exited');
    // Keyboard users sitting in the terminal land on the button.
    expect(await activeTestId(page)).toBe('restart-shell');
    await screenshot(page, 'shell-exited');

    await page.keyboard.press('Enter');
    await page.getByTestId('shell-banner').waitFor({ state: 'detached' });
    await waitForConnection(page);
    expect(await terminalHasFocus(page)).toBe(true);
    await page.keyboard.type('ls /root/kept && echo restarted-$((2*3))');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'restarted-6');
    await page.close();
  });

  test('a second tab takes over; "Use here" takes the attempt back', async () => {
    const first = await rig.browser.newPage();
    const attemptUrl = await startFirstExercise(first, rig.server.url);

    const second = await rig.browser.newPage();
    await second.goto(attemptUrl);
    await waitForConnection(second);
    await waitForConnection(first, 'replaced');
    await expect(first.getByTestId('connection-banner').textContent()).resolves.toContain(
      'This attempt is open in another tab',
    );
    await screenshot(first, 'replaced');

    await first.getByTestId('use-here').click();
    await waitForConnection(first);
    await waitForConnection(second, 'replaced');
    await first.keyboard.type('echo back-$((3*3))');
    await first.keyboard.press('Enter');
    await waitForTerminalText(first, 'back-9');
    await second.close();
    await first.close();
  });

  test('Submit asks first, then ends the attempt; a reload shows the ended state', async () => {
    const page = await rig.browser.newPage();
    await startFirstExercise(page, rig.server.url);

    await page.getByTestId('submit-button').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await screenshot(page, 'submit-confirm');
    // The safe answer has the focus; Escape keeps working.
    expect(await activeTestId(page)).toBe('dialog-cancel');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await waitForConnection(page);

    await page.getByTestId('submit-button').click();
    await page.getByTestId('dialog-confirm').click();
    const ended = page.getByTestId('ended-banner');
    await ended.waitFor();
    await expect(ended.textContent()).resolves.toContain('Your work was submitted');
    await waitForConnection(page, 'ended');
    expect(await page.getByTestId('countdown').isVisible()).toBe(false);
    expect(await page.getByTestId('submit-button').isVisible()).toBe(false);
    await screenshot(page, 'submitted');

    await page.reload();
    await page.getByTestId('ended-banner').waitFor();
    await waitForConnection(page, 'ended');
    await screenshot(page, 'submitted-after-reload');
    await page.close();
  });

  test('leaving the workspace closes its socket; the catalog offers to continue', async () => {
    const page = await rig.browser.newPage();
    const frames = recordTerminalFrames(page);
    await startFirstExercise(page, rig.server.url);
    await page.keyboard.type('echo still-here-$((7*7))');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'still-here-49');

    await page.locator('.workspace-header a.brand').click();
    await page.getByTestId('exercise-card').first().waitFor();
    const resume = page.getByTestId('resume-attempt');
    await resume.waitFor();
    expect(frames.sockets).toHaveLength(1);
    await expect.poll(() => frames.sockets[0]!.isClosed()).toBe(true);
    await page.waitForTimeout(1200);
    // No reconnect from a page that is gone.
    expect(frames.sockets).toHaveLength(1);
    await screenshot(page, 'catalog-resume');

    await resume.getByRole('link', { name: 'Continue' }).click();
    await waitForConnection(page);
    await waitForTerminalText(page, 'still-here-49');
    await page.close();
  });

  test('a dropped connection comes back by itself and repaints the screen', async () => {
    const page = await rig.browser.newPage();
    const routed: { close(options?: { code?: number; reason?: string }): Promise<void> }[] = [];
    // Pass the terminal socket through, keeping a handle to drop it as a broken network would.
    await page.routeWebSocket(/\/terminal$/, (ws) => {
      const upstream = ws.connectToServer();
      routed.push({
        async close(options) {
          await upstream.close();
          await ws.close(options);
        },
      });
    });
    await startFirstExercise(page, rig.server.url);
    await page.keyboard.type('echo before-$((4*4))');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'before-16');

    await routed[0]!.close({ code: 4008, reason: 'stalled' });
    await waitForConnection(page, 'reconnecting');
    await screenshot(page, 'reconnecting');
    await waitForConnection(page);
    expect(routed.length).toBe(2);
    // The repaint replaced the screen rather than adding to it.
    const repainted = await waitForTerminalText(page, 'before-16');
    expect(repainted.match(/^before-16$/gm)).toHaveLength(1);
    await page.keyboard.type('echo after-$((5*5))');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'after-25');
    await page.close();
  });

  test('the attempt expires while open: the terminal stops and says the work was submitted', async () => {
    const page = await rig.browser.newPage();
    const attemptUrl = await startFirstExercise(page, rig.server.url);
    const id = attemptUrl.split('/').pop()!;
    // The server ends it as its deadline timer would.
    await rig.server.services.attempts.expire(id);
    const ended = page.getByTestId('ended-banner');
    await ended.waitFor();
    await expect(ended.textContent()).resolves.toContain('Time is up — your work was submitted automatically');
    await page.close();
  });

  test('the countdown warns at 10 and 2 minutes left', async () => {
    const page = await rig.browser.newPage();
    await page.clock.install();
    await startFirstExercise(page, rig.server.url);
    const countdown = page.getByTestId('countdown');
    expect(await countdown.getAttribute('data-level')).toBe('normal');

    const limitMs = Number(await countdown.getAttribute('data-remaining-ms'));
    await page.clock.fastForward(Math.round(limitMs - 9.5 * 60_000));
    await page.locator('[data-testid="countdown"][data-level="warn"]').waitFor();
    expect(await countdown.textContent()).toMatch(/^9:(2|3)\d$/);
    await page.getByText('10 minutes left.').first().waitFor();
    await screenshot(page, 'countdown-warn');

    await page.clock.fastForward(8 * 60_000);
    await page.locator('[data-testid="countdown"][data-level="danger"]').waitFor();
    await screenshot(page, 'countdown-danger');
    await page.close();
  });

  test('catalog: clear messages when the platform is full, the sandbox fails, or the network is down', async () => {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/`);
    const start = page.getByTestId('start-button').first();
    const error = page.getByTestId('start-error');

    // While the sandbox starts, the button and a status line say so.
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/api/attempts', async (route) => {
      await held;
      await route.abort('failed');
    });
    await start.click();
    await page.getByText('Starting your sandbox…').waitFor();
    expect(await start.getAttribute('aria-busy')).toBe('true');
    await screenshot(page, 'catalog-starting');
    release();
    await error.waitFor();
    await page.unroute('**/api/attempts');

    await page.route('**/api/attempts', (route) =>
      route.fulfill({
        status: 503,
        headers: { 'content-type': 'application/json', 'retry-after': '3' },
        body: JSON.stringify({ error: { code: 'OPSLAB_ERR_CAPACITY', message: 'full' } }),
      }),
    );
    await start.click();
    await expect(error.textContent()).resolves.toContain('All sandboxes are in use right now. Please try again in 3 seconds.');
    expect(await start.isDisabled()).toBe(true);
    await screenshot(page, 'catalog-full');
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('[data-testid="start-button"]')?.disabled, null, {
      timeout: 6000,
    });

    await page.unroute('**/api/attempts');
    await page.route('**/api/attempts', (route) =>
      route.fulfill({
        status: 502,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: { code: 'OPSLAB_ERR_SANDBOX_START', message: 'Bad gateway' } }),
      }),
    );
    await start.click();
    await expect(error.textContent()).resolves.toContain('Your sandbox could not be started');

    await page.unroute('**/api/attempts');
    await page.route('**/api/attempts', (route) => route.abort('internetdisconnected'));
    await start.click();
    await expect(error.textContent()).resolves.toContain('Cannot reach the opslab server');
    expect(await start.isDisabled()).toBe(false);
    await page.close();
  });

  test('unknown pages and attempts get a clear page', async () => {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/no/such/page`);
    await page.getByTestId('not-found').waitFor();
    await page.goto(`${rig.server.url}/attempts/a_doesnotexist`);
    await page.getByTestId('attempt-error').waitFor();
    await screenshot(page, 'attempt-not-found');
    await page.close();
  });
});
