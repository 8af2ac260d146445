// The candidate's journey in real Chromium against a real server and real sandboxes: an interviewer's invite
// made through the API, the landing page, Start by keyboard, a command and a progress check in the workspace,
// the tab closed and the link opened again (same shell, same screen; another browser is told the attempt is not
// theirs), Submit and the done page. Also: a
// withdrawn invite, an invite without feedback, and the warnings at 10 and 2 minutes left.
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { repoRoot } from '../../server/src/paths.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { LAPTOP_VIEWPORT, launchBrowser, pageRig, screenshot, waitForConnection, waitForTerminalText } from './browser.js';

/** ui-demo: check `answer` (5 points, message shown), `notes` (3, hidden); two hints. */
const EXERCISES_DIR = path.join(repoRoot(), 'test', 'fixtures', 'exercises-ui');

interface CreatedInvite {
  id: string;
  /** The invite link on the test server. */
  url: string;
  token: string;
}

describe('candidate journey', () => {
  const rig = pageRig({ env: { OPSLAB_EXERCISES_DIR: EXERCISES_DIR } });
  let staff: Promise<StaffSession> | null = null;

  async function manage(method: string, url: string, body?: unknown): Promise<any> {
    staff ??= staffSession(rig.server, 'interviewer', 'Grace Interviewer');
    const session = await staff;
    const res = await fetch(`${rig.server.url}${url}`, {
      method,
      headers: { ...session.headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${url}: HTTP ${res.status} ${text}`);
    return JSON.parse(text);
  }

  async function createInvite(opts: { name: string; showFeedback: boolean; timeLimitMinutes: number }): Promise<CreatedInvite> {
    const { invite } = await manage('POST', '/api/manage/invites', {
      exerciseId: 'ui-demo',
      candidateName: opts.name,
      candidateEmail: `${opts.name.toLowerCase().replace(/\W+/g, '.')}@example.test`,
      timeLimitMinutes: opts.timeLimitMinutes,
      showFeedback: opts.showFeedback,
    });
    const token = new URL(invite.link as string).hash.slice(1);
    expect(token.length).toBeGreaterThan(20);
    return { id: invite.id as string, url: `${rig.server.url}/invite#${token}`, token };
  }

  async function activeTestId(page: Page): Promise<string | null> {
    return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
  }

  /** Every /api request of the page: the invite token must only ever travel in the Authorization header. */
  function recordApiRequests(page: Page): { url: string; authorization: string | undefined }[] {
    const seen: { url: string; authorization: string | undefined }[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) {
        seen.push({ url: request.url(), authorization: request.headers()['authorization'] });
      }
    });
    return seen;
  }

  test('invite link, landing, Start by keyboard, a command and a check, tab closed and reopened, Submit, done', async () => {
    const invite = await createInvite({ name: 'Ada Lovelace', showFeedback: true, timeLimitMinutes: 30 });
    const page = await rig.browser.newPage();
    const requests = recordApiRequests(page);
    await page.goto(invite.url);

    const greeting = page.getByTestId('invite-greeting');
    await greeting.waitFor();
    expect(await greeting.textContent()).toBe('Hello, Ada Lovelace');
    const exercise = page.getByTestId('invite-exercise');
    expect(await exercise.textContent()).toContain('UI demo');
    expect(await exercise.textContent()).toContain('Two small files in the workspace');
    expect(await page.getByTestId('invite-time-limit').textContent()).toBe('30 min');
    // Rules and what is recorded come from the server, item for item.
    const candidateView = await fetch(`${rig.server.url}/api/invite`, { headers: { authorization: `Bearer ${invite.token}` } });
    const { invite: view } = (await candidateView.json()) as { invite: { rules: string[]; recorded: string[] } };
    expect(view.rules.length).toBeGreaterThan(0);
    expect(await page.getByTestId('invite-rules').locator('li').allTextContents()).toEqual(view.rules);
    expect(await page.getByTestId('invite-recorded').locator('li').allTextContents()).toEqual(view.recorded);
    const clock = (await page.getByTestId('invite-clock').textContent()) ?? '';
    expect(clock).toContain('does not stop when you close this tab');
    expect(clock).toContain('open this link again');
    expect(clock).toContain('Check my progress');
    await screenshot(page, 'candidate-landing');

    // Keyboard only: the heading has the focus, Tab reaches Start, Enter starts (no second confirmation).
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await activeTestId(page)).toBe('invite-start');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/attempts\/[^/]+$/, { timeout: 60_000 });
    const attemptUrl = page.url();
    await waitForConnection(page);
    await waitForTerminalText(page, /[#$] ?$/m);
    expect(await page.locator('.workspace').getAttribute('data-mode')).toBe('interview');
    // An interview candidate has no catalog to wander off to.
    expect(await page.locator('.workspace-header a.brand').count()).toBe(0);

    await page.keyboard.type('echo candidate-$((6*7))');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'candidate-42');

    const checkButton = page.getByTestId('check-button');
    await checkButton.click();
    await page.locator('[data-testid="check-answer"][data-verdict="fail"]').waitFor({ timeout: 90_000 });
    expect(await page.getByTestId('check-score').textContent()).toBe('0 / 8 points');
    await expect(page.getByTestId('check-answer').getByTestId('check-message').textContent()).resolves.toContain(
      'There is no answer.txt',
    );
    const box = await page.getByTestId('submit-button').boundingBox();
    expect(box!.y + box!.height).toBeLessThanOrEqual(LAPTOP_VIEWPORT.height);
    await screenshot(page, 'candidate-workspace');

    // The tab is closed; the clock runs on. The link again: Resume, the same attempt, the same screen.
    await page.close();
    const again = await rig.browser.newPage();
    const requestsAgain = recordApiRequests(again);
    await again.goto(invite.url);
    const resume = again.getByTestId('invite-resume');
    await resume.waitFor();
    expect(await again.getByTestId('invite-greeting').textContent()).toBe('Welcome back, Ada Lovelace');
    expect(await again.getByTestId('invite-start').count()).toBe(0);
    await resume.click();
    await again.waitForURL(attemptUrl, { timeout: 60_000 });
    await waitForConnection(again);
    // Nothing typed again: the earlier command and its output come from the server's repaint.
    const repainted = await waitForTerminalText(again, 'candidate-42');
    expect(repainted).toContain('echo candidate-$((6*7))');

    // Another browser (without this one's attempt cookie) opening the same link: it is not theirs to resume.
    const elsewhere = await rig.browser.newPage();
    // Its attempt requests get what the server answers a request without this browser's cookie.
    await elsewhere.route('**/api/attempts/**', async (route) => {
      const res = await fetch(route.request().url(), { method: route.request().method() });
      await route.fulfill({ status: res.status, contentType: 'application/json', body: await res.text() });
    });
    await elsewhere.goto(invite.url);
    const claimed = elsewhere.locator('[data-testid="invite-gone"][data-kind="claimed"]');
    await claimed.waitFor();
    expect(await claimed.textContent()).toContain('open in another browser');
    expect(await elsewhere.getByTestId('invite-resume').count()).toBe(0);
    await elsewhere.close();

    // Submit asks first.
    await again.getByTestId('submit-button').click();
    const dialog = again.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('sent to the hiring team');
    await again.getByTestId('dialog-confirm').click();
    await again.waitForURL(`${attemptUrl}/done`, { timeout: 60_000 });
    const title = again.getByTestId('done-title');
    await title.waitFor();
    expect(await title.textContent()).toBe('Your attempt was submitted');
    expect(await again.getByTestId('done-next').textContent()).toContain('The hiring team reviews your work');
    // No grade for an interview, and no way into the catalog.
    expect(await again.locator('main').textContent()).not.toMatch(/points|score/i);
    expect(await again.getByTestId('done-catalog').count()).toBe(0);
    await screenshot(again, 'done');

    // The link of a finished invite leads to the done page.
    await again.goto(invite.url);
    await again.waitForURL(`${attemptUrl}/done`);
    await expect(again.getByTestId('done-title').textContent()).resolves.toBe('Your attempt was submitted');

    for (const request of [...requests, ...requestsAgain]) {
      expect(request.url).not.toContain(invite.token);
      if (new URL(request.url).pathname.startsWith('/api/invite')) {
        expect(request.authorization).toBe(`Bearer ${invite.token}`);
      }
    }
    expect(requests.some((r) => new URL(r.url).pathname === '/api/invite/start')).toBe(true);
    await again.close();
  }, 240_000);

  test('a withdrawn invite: the running attempt ends on "withdrawn"; the link then says it is no longer active', async () => {
    const invite = await createInvite({ name: 'Alan Turing', showFeedback: true, timeLimitMinutes: 30 });
    const page = await rig.browser.newPage();
    await page.goto(invite.url);
    // While the sandbox starts, the button and a status line say so; the answer is held back to see them.
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let starts = 0;
    await page.route('**/api/invite/start', async (route) => {
      starts += 1;
      await held;
      await route.continue();
    });
    await page.getByTestId('invite-start').click();
    await page.locator('[data-testid="invite-start"][aria-busy="true"]').waitFor();
    expect(await page.getByTestId('invite-start').getAttribute('aria-disabled')).toBe('true');
    expect(await page.getByTestId('invite-status').textContent()).toContain('Preparing your Linux machine');
    // The focus stays on the button, and pressing it again while it starts does nothing.
    expect(await activeTestId(page)).toBe('invite-start');
    await page.keyboard.press('Enter');
    await screenshot(page, 'candidate-starting');
    release();
    await page.waitForURL(/\/attempts\/[^/]+$/, { timeout: 60_000 });
    expect(starts).toBe(1);
    await page.unroute('**/api/invite/start');
    const attemptUrl = page.url();
    await waitForConnection(page);

    await manage('POST', `/api/manage/invites/${invite.id}/revoke`);
    await page.waitForURL(`${attemptUrl}/done`, { timeout: 30_000 });
    const title = page.getByTestId('done-title');
    await title.waitFor();
    expect(await title.textContent()).toBe('This invite was withdrawn');
    expect(await title.getAttribute('data-outcome')).toBe('revoked');
    await screenshot(page, 'candidate-withdrawn');

    await page.goto(invite.url);
    const gone = page.getByTestId('invite-gone');
    await gone.waitFor();
    expect(await gone.getAttribute('data-kind')).toBe('gone');
    expect(await gone.textContent()).toContain('no longer active');
    expect(await page.getByRole('button').count()).toBe(0);
    await screenshot(page, 'candidate-invite-gone');

    // An unknown token and a link cut short get their own kind words, and nothing to press either.
    await page.goto(`${rig.server.url}/invite#${'x'.repeat(43)}`);
    await page.locator('[data-testid="invite-gone"][data-kind="unknown"]').waitFor();
    await page.goto(`${rig.server.url}/invite`);
    await page.locator('[data-testid="invite-gone"][data-kind="incomplete"]').waitFor();
    expect(await page.getByRole('button').count()).toBe(0);
    await page.close();
  }, 120_000);

  test('a reissued link: the browser that started is told the attempt moved, types nothing, and the new link carries on', async () => {
    const invite = await createInvite({ name: 'Grace Hopper', showFeedback: true, timeLimitMinutes: 30 });
    const page = await rig.browser.newPage();
    await page.goto(invite.url);
    await page.getByTestId('invite-start').click();
    await page.waitForURL(/\/attempts\/[^/]+$/, { timeout: 60_000 });
    await waitForConnection(page);
    await waitForTerminalText(page, /[#$] ?$/m);

    const { invite: reissued } = await manage('POST', `/api/manage/invites/${invite.id}/reissue`);
    await page.getByTestId('moved-reload').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('connection-banner').textContent()).toContain('continues in another browser');
    expect(await page.getByTestId('connection-state').getAttribute('data-state')).toBe('moved');
    await screenshot(page, 'candidate-moved');

    // Whoever has the new link takes the attempt over, in a browser of their own.
    const other = await launchBrowser();
    const next = await other.newPage();
    await next.goto(`${rig.server.url}/invite${new URL(reissued.link as string).hash}`);
    // The attempt runs already: the new link resumes it.
    await next.getByTestId('invite-resume').click();
    await next.waitForURL(page.url(), { timeout: 60_000 });
    await waitForConnection(next);
    // The old browser stays out: no reconnect brought it back.
    expect(await page.getByTestId('connection-state').getAttribute('data-state')).toBe('moved');
    await other.close();
    await page.close();
  }, 120_000);

  test('landing: clear words when the network is down, the platform is full or the sandbox fails', async () => {
    const invite = await createInvite({ name: 'Margaret Hamilton', showFeedback: true, timeLimitMinutes: 30 });
    const page = await rig.browser.newPage();
    await page.route('**/api/invite', (route) => route.abort('internetdisconnected'));
    await page.goto(invite.url);
    const loadError = page.getByTestId('invite-load-error');
    await loadError.waitFor();
    expect(await loadError.textContent()).toContain('Cannot reach the opslab server');
    expect(await activeTestId(page)).toBe('invite-retry');
    await page.unroute('**/api/invite');
    await page.keyboard.press('Enter');
    const start = page.getByTestId('invite-start');
    await start.waitFor();

    const error = page.getByTestId('invite-error');
    const refuse = async (status: number, headers: Record<string, string> = {}) => {
      await page.unroute('**/api/invite/start');
      await page.route('**/api/invite/start', (route) =>
        route.fulfill({
          status,
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ error: { code: 'OPSLAB_ERR_TEST', message: 'refused' } }),
        }),
      );
    };
    await refuse(503, { 'retry-after': '2' });
    await start.click();
    await expect
      .poll(() => error.textContent())
      .toBe('All machines are in use right now, so your clock has not started. Please try again in 2 seconds.');
    expect(await start.textContent()).toMatch(/^Try again in \d s$/);
    expect(await start.getAttribute('aria-disabled')).toBe('true');
    await screenshot(page, 'candidate-start-full');
    // Once the server's Retry-After has passed, Start is offered again.
    await page.locator('[data-testid="invite-start"][aria-disabled="false"]').waitFor();
    expect(await start.textContent()).toBe('Start');

    await refuse(502);
    await start.click();
    await expect.poll(() => error.textContent()).toContain('Your machine could not be started, so your clock has not started.');
    expect(await start.getAttribute('aria-disabled')).toBe('false');

    await page.unroute('**/api/invite/start');
    await page.route('**/api/invite/start', (route) => route.abort('internetdisconnected'));
    await start.click();
    await expect.poll(() => error.textContent()).toContain('Cannot reach the opslab server');
    expect(await start.getAttribute('aria-disabled')).toBe('false');
    expect(await page.getByTestId('invite-status').textContent()).toContain('Preparing your machine takes a few seconds');
    await page.close();
  }, 120_000);

  test('an invite without feedback: no progress check and no hints; the keyboard help and the skip links', async () => {
    const invite = await createInvite({ name: 'Edsger Dijkstra', showFeedback: false, timeLimitMinutes: 30 });
    const page = await rig.browser.newPage();
    // The terminal socket passes through here, so that the test can cut it as a broken network would.
    let network: 'up' | 'down' = 'up';
    /** How many terminal connections the page tried. */
    let tries = 0;
    const live: { close(): Promise<void> }[] = [];
    await page.routeWebSocket(/\/terminal$/, (ws) => {
      tries++;
      if (network === 'down') {
        void ws.close({ code: 4008, reason: 'network down' });
        return;
      }
      const upstream = ws.connectToServer();
      live.push({
        async close() {
          await upstream.close();
          await ws.close({ code: 4008, reason: 'network down' });
        },
      });
    });
    await page.goto(invite.url);
    await page.getByTestId('invite-start').waitFor();
    expect(await page.getByTestId('invite-clock').textContent()).toContain('There is no progress check');
    await page.getByTestId('invite-start').click();
    await page.waitForURL(/\/attempts\/[^/]+$/, { timeout: 60_000 });
    await waitForConnection(page);
    await page.locator('[data-testid="exercise-title"]', { hasText: 'UI demo' }).waitFor();
    // The exercise has checks and hints; this invite shows neither.
    expect(await page.getByTestId('progress-panel').isVisible()).toBe(false);
    expect(await page.getByTestId('check-button').isVisible()).toBe(false);
    expect(await page.getByTestId('hint-button').isVisible()).toBe(false);

    // The keyboard help says how to leave the terminal; Escape closes it and gives the focus back.
    await page.getByTestId('keyboard-help-button').focus();
    await page.keyboard.press('Enter');
    const help = page.getByTestId('keyboard-help');
    await help.waitFor();
    expect(await help.textContent()).toContain('F6');
    expect(await page.getByTestId('keyboard-help-button').getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
    expect(await activeTestId(page)).toBe('keyboard-help-button');

    // From the top of the page, the skip links lead to the instructions and back into the terminal.
    await page.getByTestId('skip-instructions').focus();
    expect(await page.getByTestId('skip-instructions').isVisible()).toBe(true);
    await page.keyboard.press('Enter');
    expect(await activeTestId(page)).toBe('instructions');
    await page.getByTestId('skip-terminal').focus();
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.classList.contains('xterm-helper-textarea'))).toBe(true);
    // F6 leaves the terminal for Submit.
    await page.keyboard.press('F6');
    expect(await activeTestId(page)).toBe('submit-button');
    await page.keyboard.press('F6');

    // The connection drops and does not come back at once: a banner says that nothing is lost, and it goes
    // away once the terminal is back.
    await page.keyboard.type('echo before-$((4*4))');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'before-16');
    network = 'down';
    await live[live.length - 1]!.close();
    const lost = page.locator('[data-testid="connection-banner"][data-kind="lost"]');
    await lost.waitFor();
    expect(await lost.textContent()).toContain('Your shell keeps running and the clock does not stop.');
    expect(await page.getByTestId('connection-state').getAttribute('data-state')).toMatch(/^(reconnecting|connecting)$/);
    await screenshot(page, 'candidate-connection-lost');
    // "Reconnect now" tries at once; pressed while the network is still down, its try is refused and the banner (with
    // the button) stays, so no automatic retry can take the button away under the click.
    const beforeClick = tries;
    await page.getByTestId('reconnect-now').click();
    await expect.poll(() => tries, { timeout: 5_000 }).toBeGreaterThan(beforeClick);
    await lost.waitFor();
    // The network comes back: the terminal reconnects by itself and the banner goes.
    network = 'up';
    await waitForConnection(page);
    await lost.waitFor({ state: 'detached' });
    await waitForTerminalText(page, 'before-16');

    // Time runs out (as the server's deadline timer would end it): the done page says the work was submitted.
    const attemptId = new URL(page.url()).pathname.split('/').pop()!;
    await rig.server.services.attempts.expire(attemptId);
    await page.waitForURL(/\/done$/, { timeout: 30_000 });
    const title = page.getByTestId('done-title');
    await title.waitFor();
    expect(await title.textContent()).toBe('Time is up: your work was saved and submitted');
    await page.close();
  }, 120_000);

  test('the warnings: opened with 3 minutes left only the 10-minute one shows; the 2-minute one comes once', async () => {
    const invite = await createInvite({ name: 'Barbara Liskov', showFeedback: true, timeLimitMinutes: 3 });
    const page = await rig.browser.newPage();
    // Every text the workspace announces politely, in order.
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { announced: string[] }).announced = seen;
      new MutationObserver(() => {
        const text = document.querySelector('[data-testid="workspace-announcer"]')?.textContent ?? '';
        if (text !== '' && seen[seen.length - 1] !== text) seen.push(text);
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    await page.clock.install();
    await page.goto(invite.url);
    await page.getByTestId('invite-start').click();
    await page.waitForURL(/\/attempts\/[^/]+$/, { timeout: 60_000 });
    await waitForConnection(page);

    const countdown = page.getByTestId('countdown');
    const warning = page.getByTestId('time-warning');
    await page.locator('[data-testid="time-warning"][data-level="warn"]').waitFor();
    expect(await warning.textContent()).toContain('Less than 10 minutes left.');
    expect(await countdown.getAttribute('data-level')).toBe('warn');
    expect(await warning.count()).toBe(1);

    const remaining = Number(await countdown.getAttribute('data-remaining-ms'));
    expect(remaining).toBeGreaterThan(2 * 60_000);
    await page.clock.fastForward(remaining - 2 * 60_000 + 2_000);
    await page.locator('[data-testid="time-warning"][data-level="danger"]').waitFor();
    expect(await warning.textContent()).toContain('2 minutes left.');
    expect(await countdown.getAttribute('data-level')).toBe('danger');
    await screenshot(page, 'candidate-time-warning');
    const announced = async () => page.evaluate(() => (window as unknown as { announced: string[] }).announced);
    await expect.poll(announced).toHaveLength(2);
    const [first, second] = await announced();
    expect(first).toContain('Less than 10 minutes left.');
    expect(second).toMatch(/^2 minutes left\./);

    // Dismissed, it stays away: the next ticks do not bring it back, nor a second announcement.
    await page.getByTestId('time-warning-dismiss').click();
    await warning.waitFor({ state: 'detached' });
    await page.clock.fastForward(5_000);
    expect(await countdown.getAttribute('data-level')).toBe('danger');
    expect(await warning.count()).toBe(0);
    expect(await announced()).toHaveLength(2);
    await page.close();
  }, 120_000);
});
