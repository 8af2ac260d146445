// The hiring journey from end to end in real Chromium, real server, real sandboxes and grader: an interviewer
// creates an invite on the invites page; the candidate opens the link in another browser, types in the
// terminal, runs a check and submits; the interviewer finds the attempt on the dashboard, opens the review,
// sees the grade, the command timeline and the diff, seeks the replay from a command, saves a scorecard and
// exports the HTML report, which opens offline. Then, for each of the three real exercises, what a reviewer
// sees of a short attempt (screenshots review-<exercise>.png).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { repoRoot } from '../../server/src/paths.js';
import { staffSession } from '../helpers/staff.js';
import { TestTerminal } from '../helpers/terminal-client.js';
import { attemptCookieToken } from '../helpers/api.js';
import { launchBrowser, pageRig, screenshot, waitForConnection, waitForTerminalText } from './browser.js';

const UI_EXERCISES = path.join(repoRoot(), 'test', 'fixtures', 'exercises-ui');

async function signIn(page: Page, url: string, cookie: string): Promise<void> {
  const [name, ...rest] = cookie.split('=');
  await page.context().addCookies([{ name: name!, value: rest.join('='), url }]);
}

describe('the hiring journey', () => {
  const rig = pageRig({ env: { OPSLAB_EXERCISES_DIR: UI_EXERCISES } });

  test('invite, candidate attempt, review with timeline, diff, replay, scorecard and offline export', { timeout: 300_000 }, async () => {
    const { url } = rig.server;
    const staff = await staffSession(rig.server, 'interviewer', 'Jordan Interviewer');
    const page = await rig.browser.newPage();
    await signIn(page, url, staff.cookie);

    // The interviewer creates the invite on the page and copies its link.
    await page.goto(`${url}/manage/invites`);
    await page.getByTestId('invite-exercise').locator('option[value="ui-demo"]').waitFor({ state: 'attached' });
    await page.getByTestId('invite-exercise').selectOption('ui-demo');
    await page.getByTestId('invite-name').fill('Sam Candidate');
    await page.getByTestId('invite-email').fill('sam@example.test');
    await page.getByTestId('invite-feedback').check();
    await page.getByTestId('create-invite').click();
    const link = await page.getByTestId('created-link').inputValue();
    expect(link).toMatch(/\/invite#[A-Za-z0-9_-]{40,}$/);

    // The candidate, in a browser of their own.
    const candidateBrowser = await launchBrowser();
    let attemptId: string;
    try {
      const candidate = await candidateBrowser.newPage();
      await candidate.goto(`${url}/invite${new URL(link).hash}`);
      await candidate.getByTestId('invite-start').click();
      await candidate.waitForURL(/\/attempts\/a_[0-9a-f]+$/, { timeout: 90_000 });
      attemptId = new URL(candidate.url()).pathname.split('/').pop()!;
      await waitForConnection(candidate);
      await waitForTerminalText(candidate, /# ?$/m);
      await candidate.getByTestId('terminal').click();
      for (const line of ['cat /root/work/README.txt 2>/dev/null | head -3; echo looked-$((3*3))', 'echo ok > /root/work/answer.txt']) {
        await candidate.keyboard.type(line);
        await candidate.keyboard.press('Enter');
        await candidate.waitForTimeout(300);
      }
      await waitForTerminalText(candidate, 'looked-9');
      await candidate.getByTestId('check-button').click();
      await candidate.locator('[data-testid="check-answer"][data-verdict="pass"]').waitFor({ timeout: 90_000 });
      await candidate.getByTestId('submit-button').click();
      await candidate.getByTestId('dialog-confirm').click();
      await candidate.getByTestId('done-title').waitFor({ timeout: 90_000 });
      await candidate.close();
    } finally {
      await candidateBrowser.close();
    }

    // The dashboard lists it; the review opens from there.
    await page.goto(`${url}/manage`);
    const row = page.locator('tr', { hasText: 'Sam Candidate' }).first();
    await row.waitFor();
    await row.locator(`a[href="/manage/attempts/${attemptId}"]`).first().click();
    await page.waitForURL(new RegExp(`/manage/attempts/${attemptId}$`));
    await page.getByTestId('review-header').waitFor();
    expect(await page.getByTestId('review-candidate').textContent()).toBe('Sam Candidate');
    await expect.poll(() => page.getByTestId('review-score').textContent(), { timeout: 60_000 }).toMatch(/^5\/8/);
    expect(await page.getByTestId('review-check-answer').getAttribute('data-verdict')).toBe('pass');
    expect(await page.getByTestId('review-check-notes').getAttribute('data-verdict')).toBe('fail');
    // The hidden check's details are the interviewer's.
    expect(await page.getByTestId('review-check-answer').getByTestId('check-first-passed').count()).toBe(1);

    // The diff shows the answer file; the timeline the commands; a click seeks the replay.
    await page.getByTestId('diff-file').filter({ hasText: '/root/work/answer.txt' }).waitFor();
    await page.locator('[data-testid="replay"][data-state="ready"]').waitFor({ timeout: 30_000 });
    const command = page.getByTestId('timeline-command').filter({ hasText: 'echo ok > /root/work/answer.txt' }).first();
    await command.waitFor();
    const at = Number(await command.getAttribute('data-seconds'));
    expect(at).toBeGreaterThan(0);
    await command.click();
    await expect.poll(async () => Number(await page.getByTestId('replay-time').getAttribute('data-seconds'))).toBeCloseTo(at, 1);
    await expect.poll(() => page.locator('[data-testid="replay-player"] .ap-term').innerText()).toContain('looked-9');

    // A scorecard, saved.
    await page.getByTestId('scorecard-scripting-3').check();
    await page.getByTestId('scorecard-rec-yes').check();
    await page.getByTestId('scorecard-summary').fill('Found the answer file fast.');
    await page.getByTestId('scorecard-save').click();
    await page.locator('[data-testid="scorecard-status"][data-state="saved"]').waitFor();
    await screenshot(page, 'journey-review');

    // The HTML report: downloaded, then opened from disk with the network cut off.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('review-export-html').click()]);
    const copy = path.join(path.dirname(await download.path()), `journey-${attemptId}.html`);
    fs.copyFileSync(await download.path(), copy);
    const offline = await rig.browser.newPage();
    const requests: string[] = [];
    await offline.route('**', (route) => {
      if (route.request().url().startsWith('file:')) return route.continue();
      requests.push(route.request().url());
      return route.abort();
    });
    await offline.goto(pathToFileURL(copy).href);
    await offline.locator('#replay .ap-term').waitFor();
    expect(await offline.locator('body').innerText()).toContain('Sam Candidate');
    expect(await offline.locator('body').innerText()).toContain('Found the answer file fast.');
    await offline.getByTestId('export-command').filter({ hasText: 'echo ok > /root/work/answer.txt' }).click();
    await expect.poll(() => offline.locator('#replay .ap-term').innerText()).toContain('looked-9');
    expect(requests).toEqual([]);
    await screenshot(offline, 'journey-export');
    await offline.close();

    // On the candidate's request: delete the attempt (after a confirmation); the dashboard no longer lists it.
    await page.getByTestId('delete-attempt').click();
    await page.getByTestId('confirm-dialog').waitFor();
    expect(await page.getByTestId('confirm-dialog').textContent()).toContain("the candidate's name and email");
    await page.getByTestId('dialog-confirm').click();
    await page.waitForURL(new RegExp('/manage$'));
    const gone = await fetch(`${url}/api/manage/attempts/${attemptId}`, { headers: staff.headers });
    expect(gone.status).toBe(404);
    expect(fs.existsSync(path.join(rig.server.dataDir, 'recordings', `${attemptId}.cast`))).toBe(false);
    await page.close();
  });
});

describe('what a reviewer sees of each exercise', () => {
  const rig = pageRig();

  // A short, realistic start of each exercise: the commands a candidate would begin with, and one change.
  const SESSIONS: Record<string, string[]> = {
    'ci-triage': ['cd /root/work && ls', 'git log --oneline | head -5', 'tail -n 20 logs/run-1842.log', 'echo "Root cause: to be found" > TRIAGE.md'],
    'terraform-review': ['cd /root/work && ls', 'grep -n \'"\\*"\' *.tf | head', 'grep -n 0.0.0.0/0 *.tf | head', 'echo "- wildcard IAM policy" > REVIEW.md'],
    'latency-slo': ['cd /root/work && ls', "curl -s 'http://127.0.0.1:9090/api/v1/query' --data-urlencode 'query=up' | head -c 300; echo", 'ls alerts 2>/dev/null; echo checked'],
  };

  for (const [exerciseId, lines] of Object.entries(SESSIONS)) {
    test(`${exerciseId}: grade, checks, commands and changes on the review page`, { timeout: 240_000 }, async () => {
      const { url } = rig.server;
      const staff = await staffSession(rig.server, 'interviewer');
      const res = await fetch(`${url}/api/manage/invites`, {
        method: 'POST',
        headers: { ...staff.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ exerciseId, candidateName: `Reviewer view ${exerciseId}`, candidateEmail: 'r@example.test', showFeedback: true }),
      });
      const link = new URL(((await res.json()) as { invite: { link: string } }).invite.link).hash.slice(1);
      const started = await fetch(`${url}/api/invite/start`, { method: 'POST', headers: { authorization: `Bearer ${link}` } });
      expect(started.status).toBe(201);
      const attemptId = ((await started.json()) as { attempt: { id: string } }).attempt.id;
      // The claim set the attempt's own token as the browser's cookie: that is what opens the attempt.
      const token = attemptCookieToken(started.headers, attemptId);
      const term = await TestTerminal.connect(url, attemptId, token);
      await term.waitFor(/# /, 30_000);
      for (const [i, line] of lines.entries()) {
        term.type(`${line}; echo "step-""${i}-done"\r`);
        await term.waitFor(`step-${i}-done`, 30_000);
      }
      term.close();
      const submitted = await fetch(`${url}/api/attempts/${attemptId}/submit`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(submitted.status).toBe(200);

      const page = await rig.browser.newPage();
      await signIn(page, url, staff.cookie);
      await page.goto(`${url}/manage/attempts/${attemptId}`);
      await page.getByTestId('review-header').waitFor();
      const exercise = rig.server.services.catalog.get(exerciseId)!;
      await page.getByTestId('review-check-list').waitFor();
      expect(await page.locator('[data-testid="review-check-list"] > li').count()).toBe(exercise.checks.length);
      expect(await page.getByTestId('review-score').textContent()).toMatch(/^\d+\/\d+/);
      await page.locator('[data-testid="replay"][data-state="ready"]').waitFor({ timeout: 30_000 });
      // The timeline comes in its own request (parsed off the server's event loop): wait for it, not only the replay.
      await page.locator('[data-testid="timeline-command"]').first().waitFor({ timeout: 30_000 });
      const timeline = await page.locator('[data-testid="timeline-command"] .timeline-command').allTextContents();
      expect(timeline.some((t) => t.includes(lines[1]!.slice(0, 20)))).toBe(true);
      await screenshot(page, `review-${exerciseId}`);
      await page.close();
    });
  }
});
