// Practice mode in real Chromium against a real server, sandboxes and grader: the catalog with the trainee's
// own status, a hint, a failing check with its message, the fix, a passing check, a reset back to the initial
// state, and after submitting the trainee's own results, replay, command timeline and solution.
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { LAPTOP_VIEWPORT, pageRig, screenshot, waitForConnection, waitForTerminalText } from './browser.js';

/** ui-demo: check `answer` (5 points) wants "ok" in /root/work/answer.txt; `notes` (3, hidden in interviews). */
const EXERCISES_DIR = path.join(repoRoot(), 'test', 'fixtures', 'exercises-ui');

/** Widths the catalog must fit: a small phone, a tablet, laptops, a desktop. */
const CATALOG_WIDTHS = [320, 768, 1024, 1400, 1920];

/**
 * At each width, every card's action button (Start, Start again, Continue) lies inside its card, and the card inside
 * the page's width; a screenshot per width goes to test-artifacts/e2e/.
 */
async function expectCardFootersFit(page: Page, name: string): Promise<void> {
  const problems: string[] = [];
  try {
    for (const width of CATALOG_WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      const cards = page.getByTestId('exercise-card');
      await cards.first().waitFor();
      const boxes = await cards.evaluateAll((els) =>
        els.map((card) => {
          const action = card.querySelector('[data-testid="start-button"], [data-testid="continue-button"]');
          const box = (r: DOMRect) => ({ left: r.left, right: r.right, top: r.top, bottom: r.bottom });
          return {
            id: card.getAttribute('data-exercise-id'),
            card: box(card.getBoundingClientRect()),
            action: action ? box(action.getBoundingClientRect()) : null,
            pageWidth: document.documentElement.clientWidth,
          };
        }),
      );
      expect(boxes.length).toBeGreaterThan(0);
      for (const { id, card, action, pageWidth } of boxes) {
        const where = `${id} at ${width} px: card ${JSON.stringify(card)}, button ${JSON.stringify(action)}`;
        if (!action) problems.push(`${where}: no button`);
        else if (action.left < card.left || action.right > card.right || action.top < card.top || action.bottom > card.bottom) {
          problems.push(`${where}: the button sticks out of its card`);
        }
        if (card.left < 0 || card.right > pageWidth) problems.push(`${where}: the card is wider than the page (${pageWidth} px)`);
      }
      await screenshot(page, `${name}-${width}`);
    }
  } finally {
    await page.setViewportSize(LAPTOP_VIEWPORT);
  }
  expect(problems).toEqual([]);
}

describe('practice', () => {
  const rig = pageRig({ env: { OPSLAB_EXERCISES_DIR: EXERCISES_DIR } });

  test('catalog cards keep their Start button inside at every width', async () => {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/`);
    await expectCardFootersFit(page, 'practice-catalog-width');
    await page.close();
  });

  test('catalog, hint, failing check, fix, passing check, reset, results with replay and solution', { timeout: 240_000 }, async () => {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/`);
    const card = page.locator('[data-testid="exercise-card"][data-exercise-id="ui-demo"]');
    await card.waitFor();
    expect(await card.getByTestId('practice-status').textContent()).toBe('Not started');
    expect(await card.textContent()).toContain('Scripting and automation');
    await screenshot(page, 'practice-catalog');

    await card.getByTestId('start-button').click();
    await page.waitForURL(/\/attempts\/a_[0-9a-f]+$/, { timeout: 60_000 });
    const attemptId = page.url().split('/').pop()!;
    await waitForConnection(page);
    await waitForTerminalText(page, /# ?$/m);

    // A hint, after a confirmation.
    await page.getByTestId('hint-button').click();
    await page.getByTestId('dialog-confirm').click();
    await page.getByTestId('hint').first().waitFor();
    expect(await page.getByTestId('hint').first().textContent()).toContain('/root/work');

    // The checks fail, each with its message: practice shows even the ones interviews hide.
    const check = page.getByTestId('check-button');
    await check.click();
    await page.locator('[data-testid="check-answer"][data-verdict="fail"]').waitFor({ timeout: 90_000 });
    expect(await page.getByTestId('check-answer').getByTestId('check-message').textContent()).toContain('There is no answer.txt');
    expect(await page.getByTestId('check-notes').getByTestId('check-message').textContent()).toContain('notes.md is missing');

    // The fix in the terminal, then the check passes.
    await page.getByTestId('terminal').click();
    await page.keyboard.type('echo ok > /root/work/answer.txt && echo fixed-$((40+2))');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'fixed-42');
    // Checks ran moments ago: the server asks for a pause (the page counts it down), then they run again.
    await check.click();
    await page.locator('[data-testid="check-status"][data-state="waiting"]').waitFor();
    await page.locator('[data-testid="check-button"][aria-disabled="false"]').waitFor({ timeout: 20_000 });
    await check.click();
    await page.locator('[data-testid="check-answer"][data-verdict="pass"]').waitFor({ timeout: 90_000 });
    await screenshot(page, 'practice-workspace');

    // Reset, after a confirmation: the sandbox is back in its initial state, the attempt and clock unchanged.
    const deadlineBefore = (await (await page.request.get(`${rig.server.url}/api/attempts/${attemptId}`)).json()).attempt.deadline;
    await page.getByTestId('reset-button').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Every file you changed');
    await page.getByTestId('dialog-confirm').click();
    await page.locator('[data-testid="reset-button"]:not([disabled])').waitFor({ timeout: 60_000 });
    await page.getByTestId('terminal').click();
    await page.keyboard.type('test -e /root/work/answer.txt && echo still-there || echo "gone-""after-reset"; ls /root/work');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'gone-after-reset', 30_000);
    const after = (await (await page.request.get(`${rig.server.url}/api/attempts/${attemptId}`)).json()).attempt;
    expect(after.id).toBe(attemptId);
    expect(after.deadline).toBe(deadlineBefore);

    // The catalog shows the attempt in progress with Continue.
    await page.goto(`${rig.server.url}/`);
    await card.getByTestId('practice-status').waitFor();
    expect(await card.getByTestId('practice-status').textContent()).toBe('In progress');
    await card.getByTestId('continue-button').click();
    await waitForConnection(page);

    // Solve again, submit ("give up" works the same), and open the results.
    await page.getByTestId('terminal').click();
    await page.keyboard.type('echo ok > /root/work/answer.txt; echo "re""solved"');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'resolved');
    await page.getByTestId('submit-button').click();
    await page.getByTestId('dialog-confirm').click();
    await page.getByTestId('practice-results-link').click();
    await page.getByTestId('practice-result').waitFor();
    await page.getByTestId('practice-score').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('practice-score').textContent()).toBe('5 of 8 points');
    expect(await page.getByTestId('practice-grading').textContent()).toContain('notes.md is missing');
    expect(await page.getByTestId('practice-solution').textContent()).toContain('How to solve UI demo');

    // The trainee's own timeline: clicking a command moves their replay there.
    const row = page.getByTestId('timeline-list').locator('li', { hasText: 'fixed-$((40+2))' }).first();
    await row.waitFor();
    const time = page.getByTestId('replay-time');
    await page.locator('[data-testid="replay-status"]').waitFor({ state: 'attached' });
    await row.locator('button').first().click();
    await expect.poll(async () => Number(await time.getAttribute('data-seconds')), { timeout: 10_000 }).toBeGreaterThan(0);
    await screenshot(page, 'practice-result');

    await page.goto(`${rig.server.url}/`);
    await card.getByTestId('practice-status').waitFor();
    expect(await card.getByTestId('practice-status').textContent()).toBe('Best 5/8');
    // The longest footer: "Best 5/8" and "Start again".
    await expectCardFootersFit(page, 'practice-catalog-done-width');
    await page.close();
  });
});
