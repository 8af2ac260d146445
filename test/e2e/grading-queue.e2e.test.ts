// The grading queue in real Chromium: with one grading at a time and another attempt's check run holding the
// grader, "Check my progress" says the run is queued and how many are ahead, then shows the results once it ran.
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { api, startAttempt } from '../helpers/api.js';
import { pageRig, screenshot, startFirstExercise } from './browser.js';

/** queue-demo: one check that waits for a slow clean-room job; each grading takes several seconds. */
const EXERCISES_DIR = path.join(repoRoot(), 'test', 'fixtures', 'grading-limits');

describe('grading queue (page)', () => {
  const rig = pageRig({ env: { OPSLAB_EXERCISES_DIR: EXERCISES_DIR, OPSLAB_GRADING_CONCURRENCY: '1' } });

  test('a check run waiting for the grader reads "Queued (1 ahead)", then shows its results', { timeout: 180_000 }, async () => {
    const page = await rig.browser.newPage();
    await startFirstExercise(page, rig.server.url);

    // Someone else's check run takes the only grading slot.
    const other = await startAttempt(rig.server.url, 'queue-demo');
    const otherRun = api(rig.server.url, 'POST', `/api/attempts/${other.attempt.id}/checks`, other.token);
    await expect
      .poll(async () => (await api(rig.server.url, 'GET', '/api/health')).body.grading.running, { timeout: 20_000, interval: 100 })
      .toBe(1);

    await page.getByTestId('check-button').click();
    const queued = page.locator('[data-testid="check-status"][data-state="queued"]');
    await queued.waitFor({ timeout: 10_000 });
    expect(await queued.textContent()).toContain('Queued (1 ahead)');
    await screenshot(page, 'grading-queued');

    expect((await otherRun).status).toBe(200);
    await page.locator('[data-testid="check-slow"][data-verdict="pass"]').waitFor({ timeout: 90_000 });
    expect(await page.locator('[data-testid="check-status"][data-state="queued"]').count()).toBe(0);
    await page.close();
  });
});
