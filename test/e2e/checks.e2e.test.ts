// "Check my progress" and hints in the workspace, in real Chromium against a real server, real sandboxes and
// the real grader: a failing check with its message, a fix typed in the terminal, the pause between two runs,
// a passing check and a higher score; a hint revealed after a confirmation that is still there after a reload.
import path from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { repoRoot } from '../../server/src/paths.js';
import {
  LAPTOP_VIEWPORT,
  screenshot,
  startFirstExercise,
  waitForConnection,
  waitForTerminalText,
  pageRig,
} from './browser.js';

/** ui-demo: check `answer` (5 points, message shown) wants "ok" in /root/work/answer.txt; `notes` (3, hidden). */
const EXERCISES_DIR = path.join(repoRoot(), 'test', 'fixtures', 'exercises-ui');

describe('checks and hints in the workspace', () => {
  const rig = pageRig({ env: { OPSLAB_EXERCISES_DIR: EXERCISES_DIR } });
  // Each test is a new trainee: their own practice token, no attempt of an earlier test in their catalog.
  beforeEach(() => rig.browser.context.clearCookies());

  async function activeTestId(page: Page): Promise<string | null> {
    return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
  }

  async function expectInViewport(page: Page, testId: string): Promise<void> {
    const box = await page.getByTestId(testId).boundingBox();
    expect(box, `${testId} has a box`).not.toBeNull();
    expect(box!.y).toBeGreaterThanOrEqual(0);
    expect(box!.y + box!.height).toBeLessThanOrEqual(LAPTOP_VIEWPORT.height);
  }

  test('check, fix in the terminal, wait, check again; a hint is confirmed, shown and kept over a reload', async () => {
    const page = await rig.browser.newPage();
    await startFirstExercise(page, rig.server.url);

    const button = page.getByTestId('check-button');
    const score = page.getByTestId('check-score');
    const answer = page.getByTestId('check-answer');
    const notes = page.getByTestId('check-notes');
    await button.waitFor();
    // Reachable without scrolling on a laptop screen, next to the instructions.
    await expectInViewport(page, 'check-button');
    await expectInViewport(page, 'hint-button');
    expect(await score.textContent()).toBe('8 points in 2 checks');
    expect(await answer.getAttribute('data-verdict')).toBe('unchecked');

    // Keyboard: Shift+F6 leaves the terminal for the instructions, Tab lands on the button, Enter runs the
    // checks. The answer is held back for a moment so that the running state can be seen.
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let passedOn = (): void => {};
    const passed = new Promise<void>((resolve) => (passedOn = resolve));
    await page.route('**/api/attempts/*/checks', async (route) => {
      await held;
      await route.continue();
      passedOn();
    });
    await page.keyboard.press('Shift+F6');
    expect(await activeTestId(page)).toBe('instructions');
    await page.keyboard.press('Tab');
    expect(await activeTestId(page)).toBe('check-button');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="check-button"][data-state="checking"]').waitFor();
    expect(await button.textContent()).toBe('Checking…');
    expect(await button.getAttribute('aria-disabled')).toBe('true');
    expect(await button.getAttribute('aria-busy')).toBe('true');
    // A second press while it runs does nothing, and the focus stays on the button.
    await page.keyboard.press('Enter');
    expect(await activeTestId(page)).toBe('check-button');
    await screenshot(page, 'checks-running');
    release();
    await passed;
    await page.unroute('**/api/attempts/*/checks');

    await page.locator('[data-testid="check-answer"][data-verdict="fail"]').waitFor({ timeout: 90_000 });
    expect(await score.textContent()).toBe('0 / 8 points');
    await expect(answer.getByTestId('check-verdict').textContent()).resolves.toBe('Not yet');
    await expect(answer.getByTestId('check-message').textContent()).resolves.toContain('There is no answer.txt');
    expect(await notes.getAttribute('data-verdict')).toBe('fail');
    // The exercise hides this check's message from interview candidates; practice is generous and shows it.
    await expect(notes.getByTestId('check-message').textContent()).resolves.toContain('notes.md is missing');
    await expect
      .poll(() => page.getByTestId('progress-announcer').textContent())
      .toContain('Checks done: 0 of 8 points. 0 of 2 checks pass.');
    expect(await button.getAttribute('aria-disabled')).toBe('false');
    await screenshot(page, 'checks-failing');

    // The fix, typed in the terminal.
    await page.getByTestId('terminal').click();
    await page.keyboard.type('mkdir -p /root/work && echo ok > /root/work/answer.txt && echo written-$((2+3))');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'written-5');

    // Checks ran moments ago: the server asks for a pause, and the page counts it down.
    await button.click();
    const status = page.getByTestId('check-status');
    await page.locator('[data-testid="check-status"][data-state="waiting"]').waitFor();
    expect(await status.textContent()).toMatch(/^You can check again in \d+ s$/);
    expect(await button.getAttribute('aria-disabled')).toBe('true');
    await screenshot(page, 'checks-wait');
    await page.locator('[data-testid="check-button"][aria-disabled="false"]').waitFor({ timeout: 15_000 });
    expect(await status.isVisible()).toBe(false);

    await button.click();
    await page.locator('[data-testid="check-answer"][data-verdict="pass"]').waitFor({ timeout: 90_000 });
    expect(await score.textContent()).toBe('5 / 8 points');
    await expect(answer.getByTestId('check-verdict').textContent()).resolves.toBe('Pass');
    expect(await notes.getAttribute('data-verdict')).toBe('fail');
    await screenshot(page, 'checks-passing');

    // Hints: a confirmation first (it is recorded); Escape keeps it hidden.
    const hintButton = page.getByTestId('hint-button');
    expect(await hintButton.textContent()).toBe('Show a hint (1 of 2)');
    await hintButton.click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Hints are recorded in your attempt. Show hint 1 of 2?');
    expect(await activeTestId(page)).toBe('dialog-cancel');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await page.getByTestId('hint').count()).toBe(0);

    await hintButton.click();
    await dialog.waitFor();
    await screenshot(page, 'checks-hint-confirm');
    await page.getByTestId('dialog-confirm').click();
    const hint = page.getByTestId('hint');
    await hint.first().waitFor();
    expect(await hint.count()).toBe(1);
    expect(await hint.first().textContent()).toContain('The checks only look at files in /root/work.');
    expect(await hintButton.textContent()).toBe('Show a hint (2 of 2)');
    await expect
      .poll(() => page.getByTestId('progress-announcer').textContent())
      .toContain('Hint 1 of 2: The checks only look at files');
    await screenshot(page, 'checks-hint');

    // A reload keeps the revealed hint (the attempt recorded it) and the last results (this tab kept them).
    await page.reload();
    await waitForConnection(page);
    await hint.first().waitFor();
    expect(await score.textContent()).toBe('5 / 8 points');
    expect(await answer.getAttribute('data-verdict')).toBe('pass');
    expect(await hint.count()).toBe(1);
    expect(await page.getByTestId('hint-count').textContent()).toBe('1 of 2 shown');
    expect(await hintButton.textContent()).toBe('Show a hint (2 of 2)');
    await screenshot(page, 'checks-hint-after-reload');

    // Once submitted, nothing more can be run or revealed; the hint stays readable.
    await page.getByTestId('submit-button').click();
    await page.getByTestId('dialog-confirm').click();
    await page.getByTestId('ended-banner').waitFor();
    expect(await button.isVisible()).toBe(false);
    expect(await hintButton.isVisible()).toBe(false);
    expect(await hint.first().isVisible()).toBe(true);
    await screenshot(page, 'checks-ended');
    await page.close();
  });

  test('many checks with long messages: the panel scrolls on its own, the button and the instructions stay in view', async () => {
    const page = await rig.browser.newPage();
    const checks = Array.from({ length: 9 }, (_, i) => ({
      id: `c${i + 1}`,
      title: `Check number ${i + 1} looks at one more thing in the sandbox`,
      points: i + 1,
    }));
    await page.route('**/api/attempts/*/exercise', async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { exercise: Record<string, unknown> };
      await route.fulfill({ response, json: { exercise: { ...body.exercise, checks } } });
    });
    await page.route('**/api/attempts/*/checks', (route) =>
      route.fulfill({
        json: {
          results: {
            kind: 'progress',
            finishedAt: new Date().toISOString(),
            score: 12,
            maxScore: 45,
            error: null,
            checks: checks.map((c, i) => ({
              ...c,
              verdict: i % 3 === 0 ? 'pass' : 'fail',
              message: i % 3 === 0 ? null : 'Not there yet: this message runs over a couple of lines. '.repeat(3).trim(),
            })),
          },
        },
      }),
    );
    await startFirstExercise(page, rig.server.url);
    await page.getByTestId('check-button').click();
    await page.locator('[data-testid="check-c9"][data-verdict="fail"]').waitFor();
    await expectInViewport(page, 'check-button');
    const instructions = await page.getByTestId('instructions').boundingBox();
    expect(instructions!.height).toBeGreaterThanOrEqual(200);
    const panel = page.getByTestId('progress-panel');
    const box = await panel.boundingBox();
    expect(box!.y + box!.height).toBeLessThanOrEqual(LAPTOP_VIEWPORT.height);
    expect(await panel.evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true);
    await screenshot(page, 'checks-many');
    // Scrolled to the end of the results, the button is still there.
    await panel.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    const stuck = await page.getByTestId('check-button').boundingBox();
    expect(stuck!.y).toBeGreaterThanOrEqual(box!.y);
    await screenshot(page, 'checks-many-scrolled');
    await page.close();
  });

  test('a check whose grader broke reads "could not be checked", not as a failure', async () => {
    const page = await rig.browser.newPage();
    await startFirstExercise(page, rig.server.url);
    await page.route('**/api/attempts/*/checks', (route) =>
      route.fulfill({
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          results: {
            kind: 'progress',
            finishedAt: new Date().toISOString(),
            score: 5,
            maxScore: 8,
            error: null,
            checks: [
              { id: 'answer', title: 'answer.txt says ok', points: 5, verdict: 'pass', message: null },
              { id: 'notes', title: 'notes.md is written', points: 3, verdict: 'error', message: null },
            ],
          },
        }),
      }),
    );
    await page.getByTestId('check-button').click();
    const notes = page.locator('[data-testid="check-notes"][data-verdict="error"]');
    await notes.waitFor();
    await expect(notes.getByTestId('check-verdict').textContent()).resolves.toBe('Could not be checked');
    await expect
      .poll(() => page.getByTestId('progress-announcer').textContent())
      .toBe('Checks done: 5 of 8 points. 1 of 2 checks pass. 1 could not be checked.');
    await screenshot(page, 'checks-grader-error');

    // A server that cannot run the checks at all: a plain sentence, and the button comes back.
    await page.unroute('**/api/attempts/*/checks');
    await page.route('**/api/attempts/*/checks', (route) =>
      route.fulfill({
        status: 500,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: { code: 'OPSLAB_ERR_INTERNAL', message: 'Internal error' } }),
      }),
    );
    await page.getByTestId('check-button').click();
    await expect
      .poll(() => page.getByTestId('check-status').textContent())
      .toContain('Your work could not be checked. The server had a problem (500)');
    expect(await page.getByTestId('check-button').getAttribute('aria-disabled')).toBe('false');
    // The last results stay on screen.
    expect(await notes.count()).toBe(1);
    await page.close();
  });
});
