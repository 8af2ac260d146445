// An interviewer reviews a real finished attempt in Chromium: a candidate types a few commands in the
// workspace's terminal and submits; the review page then shows the grade, what changed and the commands, a
// click (or Enter) on a command moves the replay to it, a scorecard is filled, saved and still there after a
// reload, another interviewer's review is shown read-only, and "Export HTML" downloads the offline report.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import type { Page } from 'playwright-core';
import { api, startAttempt } from '../helpers/api.js';
import { staffSession } from '../helpers/staff.js';
import { holdAttempt, pageRig, screenshot, waitForConnection, waitForTerminalText } from './browser.js';

describe('review page', () => {
  const rig = pageRig();

  async function replaySeconds(page: Page): Promise<number> {
    return Number(await page.getByTestId('replay-time').getAttribute('data-seconds'));
  }

  async function playerText(page: Page): Promise<string> {
    return page.locator('[data-testid="replay-player"] .ap-term').innerText();
  }

  test('grade, diff, commands that seek the replay, a saved scorecard and the HTML export', async () => {
    const { url } = rig.server;

    // The candidate: a practice attempt of shell-warmup, commands typed in the workspace's terminal.
    const started = await startAttempt(url, 'shell-warmup');
    const id = started.attempt.id;
    await holdAttempt(rig.browser, id, started.token);
    const candidate = await rig.browser.newPage();
    await candidate.goto(`${url}/attempts/${id}`);
    await waitForConnection(candidate);
    await waitForTerminalText(candidate, /[#$] ?$/m);
    await candidate.getByTestId('terminal').click();
    const typed = [
      'echo review-$((20+22))',
      'mkdir -p /root/work && printf "port = 8080\\nmode = production\\n" > /root/work/review-note.txt',
      'ls /root/work',
    ];
    for (const line of typed) {
      await candidate.keyboard.type(line);
      await candidate.keyboard.press('Enter');
      await candidate.waitForTimeout(300);
    }
    await waitForTerminalText(candidate, 'review-note.txt');
    await waitForTerminalText(candidate, 'review-42');
    await candidate.close();
    const submitted = await api(url, 'POST', `/api/attempts/${id}/submit`, started.token);
    expect(submitted.status).toBe(200);

    // Interviewers: a colleague has reviewed already (through the API); the test's interviewer uses the page.
    const colleague = await staffSession(rig.server, 'interviewer', 'Casey Colleague');
    const me = await staffSession(rig.server, 'interviewer', 'Robin Reviewer');
    const manage = (method: string, path: string, body?: unknown) =>
      fetch(`${url}/api/manage/attempts/${id}${path}`, {
        method,
        headers: { ...colleague.headers, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    // The final snapshot is taken as the attempt ends; wait until the diff is there.
    await expect.poll(async () => (await manage('GET', '/diff')).status, { timeout: 90_000, interval: 500 }).toBe(200);
    const colleagueReview = await manage('PUT', '/review', {
      ratings: { 'linux-networking': { rating: 2, notes: 'Slow to find the files.' }, scripting: { rating: 4, notes: '' } },
      recommendation: 'no',
      summary: 'Not convinced.',
    });
    expect(colleagueReview.status).toBe(200);

    const [cookieName, ...rest] = me.cookie.split('=');
    await rig.browser.context.addCookies([{ name: cookieName!, value: rest.join('='), url }]);
    const page = await rig.browser.newPage();
    await page.goto(`${url}/manage/attempts/${id}`);

    // Header: who, what, how it ended, the score.
    await page.getByTestId('review-header').waitFor();
    expect(await page.getByTestId('review-candidate').textContent()).toBe('Practice attempt');
    expect(await page.getByTestId('review-exercise').textContent()).toBe('Shell warm-up');
    expect(await page.getByTestId('review-state').textContent()).toMatch(/Submitted/);
    const bundle = (await (await manage('GET', '')).json()) as { timeLimitSeconds: number };
    const limit = bundle.timeLimitSeconds / 60;
    expect(await page.getByTestId('review-time-limit').textContent()).toBe(
      limit % 60 === 0 ? `${limit / 60} h` : limit < 60 ? `${limit} min` : `${Math.floor(limit / 60)} h ${limit % 60} min`,
    );
    expect(await page.getByTestId('review-score').textContent()).toMatch(/^(\d+\/\d+points|Not graded)$/);
    expect(await page.getByTestId('review-live').count()).toBe(0);

    // What changed: the file written in the terminal, its lines marked as added.
    const changed = page.getByTestId('diff-file').filter({ hasText: '/root/work/review-note.txt' });
    await changed.waitFor();
    expect(await changed.getAttribute('data-change')).toBe('added');
    const added = await page.locator('[data-testid="diff"] .diff-add').allTextContents();
    expect(added).toEqual(expect.arrayContaining(['+port = 8080', '+mode = production']));

    // The replay is ready, and the commands typed are in the timeline.
    await page.locator('[data-testid="replay"][data-state="ready"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="replay-player"] .ap-term').waitFor();
    const commands = page.getByTestId('timeline-command');
    await commands.first().waitFor();
    const texts = await page.locator('[data-testid="timeline-command"] .timeline-command').allTextContents();
    for (const line of typed) expect(texts).toContain(line);
    expect(await replaySeconds(page)).toBe(0);

    // A click on the last command moves the replay to the moment it started; the earlier output is on screen.
    const last = commands.filter({ hasText: 'ls /root/work' }).last();
    const lastAt = Number(await last.getAttribute('data-seconds'));
    expect(lastAt).toBeGreaterThan(0);
    await last.click();
    await expect.poll(() => replaySeconds(page)).toBeCloseTo(lastAt, 1);
    await expect.poll(() => playerText(page)).toContain('review-42');
    await expect.poll(() => last.locator('xpath=..').getAttribute('aria-current')).toBe('true');

    // Keyboard: Enter on the first command goes back to it.
    const first = commands.filter({ hasText: 'echo review-' }).first();
    const firstAt = Number(await first.getAttribute('data-seconds'));
    expect(firstAt).toBeLessThan(lastAt);
    await first.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => replaySeconds(page)).toBeCloseTo(firstAt, 1);
    await page.getByTestId('review-replay').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await screenshot(page, 'review');

    // The colleague's review: read-only, with its weighted score ((2*15 + 4*15) / 30 = 3.0).
    const other = page.getByTestId('other-review');
    expect(await other.count()).toBe(1);
    expect(await other.textContent()).toContain('Casey Colleague');
    expect(await other.getByTestId('other-review-score').textContent()).toBe('3.0 / 4');
    expect(await other.textContent()).toContain('Slow to find the files.');

    // The scorecard: the exercise's skills are there already; another dimension is added.
    const dims = page.locator('[data-testid="scorecard-dimensions"] > fieldset');
    expect(await dims.evaluateAll((els) => els.map((el) => el.getAttribute('data-dimension')))).toEqual(['linux-networking', 'scripting']);
    await page.getByTestId('scorecard-linux-networking-3').check();
    await page.getByTestId('scorecard-linux-networking-notes').fill('Found the files quickly <b>not bold</b>');
    await page.getByTestId('scorecard-add-select').selectOption('communication');
    await page.getByTestId('scorecard-add').click();
    await page.getByTestId('scorecard-communication-4').check();
    await page.getByTestId('scorecard-rec-yes').check();
    await page.getByTestId('scorecard-summary').fill('Careful and quick.');
    // (3*15 + 4*10) / 25 = 3.4; scripting is not rated.
    expect(await page.getByTestId('scorecard-weighted').textContent()).toBe('3.4 / 4');
    expect(await page.getByTestId('scorecard-status').textContent()).toBe('Unsaved changes');
    await page.getByTestId('scorecard-save').click();
    await page.locator('[data-testid="scorecard-status"][data-state="saved"]').waitFor();
    await page.getByTestId('review-scorecard').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await screenshot(page, 'review-scorecard');

    // A reload shows the saved scorecard.
    await page.reload();
    await page.getByTestId('scorecard-form').waitFor();
    expect(await page.getByTestId('scorecard-linux-networking-3').isChecked()).toBe(true);
    expect(await page.getByTestId('scorecard-linux-networking-notes').inputValue()).toBe('Found the files quickly <b>not bold</b>');
    expect(await page.getByTestId('scorecard-communication-4').isChecked()).toBe(true);
    expect(await page.getByTestId('scorecard-scripting-1').isChecked()).toBe(false);
    expect(await page.getByTestId('scorecard-rec-yes').isChecked()).toBe(true);
    expect(await page.getByTestId('scorecard-summary').inputValue()).toBe('Careful and quick.');
    expect(await page.getByTestId('scorecard-weighted').textContent()).toBe('3.4 / 4');
    expect(await page.getByTestId('other-review').count()).toBe(1);

    // Export HTML: a download of the self-contained report.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('review-export-html').click()]);
    const file = await download.path();
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('id="opslab-cast"');
    expect(html).toContain('echo review-$((20+22))');
    expect(html).toContain('Robin Reviewer');
    expect(html).toContain('/root/work/review-note.txt');
    expect(html).toContain('Found the files quickly &lt;b&gt;not bold&lt;/b&gt;');
    await page.close();

    // Opened from disk with the network cut off, the report replays the real recording.
    const copy = path.join(path.dirname(file), 'report.html');
    fs.copyFileSync(file, copy);
    const offline = await rig.browser.newPage();
    const requests: string[] = [];
    await offline.route('**', (route) => {
      if (route.request().url().startsWith('file:')) return route.continue();
      requests.push(route.request().url());
      return route.abort();
    });
    await offline.goto(pathToFileURL(copy).href);
    await offline.locator('#replay .ap-term').waitFor();
    await offline.getByTestId('export-command').filter({ hasText: 'ls /root/work' }).click();
    await expect.poll(() => offline.locator('#replay .ap-term').innerText()).toContain('review-42');
    expect(requests).toEqual([]);
    await offline.close();
  });
});

// An advisory check (exercise-format.md, `advisory: true`): its points wait for a reviewer. The trainee sees it as
// advisory; the interviewer overrides the grader's verdict with a comment on the review page, sees the grade
// change at once and after a reload, and withdraws the decision again.
describe('review page: advisory checks', () => {
  const rig = pageRig({ env: { OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test', 'fixtures', 'exercises-advisory') } });

  test('confirm, override with a comment and withdraw through the page', async () => {
    const { url } = rig.server;
    const started = await startAttempt(url, 'advisory-demo');
    const id = started.attempt.id;
    expect((await api(url, 'POST', `/api/attempts/${id}/submit`, started.token)).status).toBe(200);

    // The trainee's result: the advisory check is marked, its points not counted.
    await holdAttempt(rig.browser, id, started.token);
    const trainee = await rig.browser.newPage();
    await trainee.goto(`${url}/practice/${id}`);
    await trainee.getByTestId('practice-score').waitFor({ timeout: 60_000 });
    expect(await trainee.getByTestId('practice-score').textContent()).toBe(
      '5 of 7 points (and 3 in advisory checks, which a reviewer would judge)',
    );
    expect(await trainee.getByTestId('practice-check').filter({ hasText: 'PLAN.md' }).textContent()).toContain('advisory: not counted');
    await trainee.close();

    const me = await staffSession(rig.server, 'interviewer', 'Robin Reviewer');
    const [cookieName, ...rest] = me.cookie.split('=');
    await rig.browser.context.addCookies([{ name: cookieName!, value: rest.join('='), url }]);
    const page = await rig.browser.newPage();
    await page.goto(`${url}/manage/attempts/${id}`);
    const score = () => page.locator('[data-testid="review-score"] .review-score-value').textContent();

    // Before: 5/7 with 3 points awaiting review; the advisory check says so and offers the grader's verdict.
    await page.getByTestId('review-header').waitFor();
    expect(await score()).toBe('5/7');
    expect(await page.getByTestId('review-pending').textContent()).toBe('+3 awaiting review');
    expect(await page.getByTestId('checks-summary').textContent()).toBe("2 passed, 1 failed. 1 advisory check awaits a reviewer's decision.");
    const plan = page.getByTestId('review-check-plan');
    expect(await plan.getByTestId('check-advisory').textContent()).toBe('advisory: not counted until confirmed');
    expect(await plan.getByTestId('advisory-note').textContent()).toContain("not counted until confirmed (the grader's preliminary verdict: pass)");
    expect(await plan.locator('.check-points').textContent()).toBe('–/3 pts');
    expect(await page.getByTestId('review-check-hello').getByTestId('advisory').count()).toBe(0);
    expect(await plan.getByTestId('advisory-verdict-pass').isChecked()).toBe(true);

    // Override to fail, with a comment: counted at once, not earned.
    await plan.getByTestId('advisory-verdict-fail').check();
    await plan.getByTestId('advisory-comment-input').fill('No canary <b>stage</b>.');
    await plan.getByTestId('advisory-save').click();
    await expect.poll(score).toBe('5/10');
    expect(await page.getByTestId('review-pending').count()).toBe(0);
    const decided = page.getByTestId('review-check-plan');
    expect(await decided.getByTestId('advisory-note').textContent()).toContain('advisory: overridden to fail by Robin Reviewer (the grader said pass)');
    expect(await decided.getByTestId('advisory-comment').textContent()).toBe('“No canary <b>stage</b>.”');
    expect(await decided.getByTestId('check-advisory').textContent()).toBe('advisory: counts as fail');
    expect(await decided.locator('.check-points').textContent()).toBe('0/3 pts');
    expect(await decided.getByTestId('check-verdict').textContent()).toBe('Grader: Pass');
    expect(await page.getByTestId('grading-entry').locator('strong').textContent()).toBe('5/10');
    await decided.scrollIntoViewIfNeeded();
    await screenshot(page, 'review-advisory');

    // Still there after a reload; the grading history counts it too.
    await page.reload();
    await page.getByTestId('review-header').waitFor();
    expect(await score()).toBe('5/10');
    expect(await page.getByTestId('grading-entry').locator('strong').textContent()).toBe('5/10');
    expect(await page.getByTestId('review-check-plan').getByTestId('advisory-verdict-fail').isChecked()).toBe(true);

    // Confirm the grader's pass instead, then withdraw: pending again.
    await page.getByTestId('review-check-plan').getByTestId('advisory-verdict-pass').check();
    await page.getByTestId('review-check-plan').getByTestId('advisory-save').click();
    await expect.poll(score).toBe('8/10');
    expect(await page.getByTestId('review-check-plan').getByTestId('advisory-note').textContent()).toContain('pass confirmed by Robin Reviewer');
    await page.getByTestId('review-check-plan').getByTestId('advisory-withdraw').click();
    await expect.poll(score).toBe('5/7');
    expect(await page.getByTestId('review-pending').textContent()).toBe('+3 awaiting review');
    expect(await page.getByTestId('review-check-plan').getByTestId('advisory-withdraw').count()).toBe(0);
    expect(await page.getByTestId('grading-entry').locator('strong').textContent()).toBe('5/7 (+3 awaiting review)');
    const actions = (await rig.server.services.auth.auditEntries(100))
      .filter((e) => e.attemptId === id)
      .map((e) => e.action)
      .reverse();
    expect(actions).toEqual(['check.confirm', 'check.confirmation.change', 'check.confirmation.withdraw']);
    await page.close();
  });
});
