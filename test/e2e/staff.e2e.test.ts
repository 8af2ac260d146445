// The interviewer's pages in real Chromium against a real server and real sandboxes: an invite created on the
// page with its link copied, another revoked from the keyboard, the candidate starting in a second browser, the
// candidate's output appearing in the live view while keys pressed there go nowhere, time added on the invites
// page moving the deadline in the live view, the dashboard listing and filtering the attempt, the end of the
// attempt offering the review; the dashboard's Export CSV downloading the current filter.
import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import {
  launchBrowser,
  pageRig,
  screenshot,
  setPageVisibility,
  terminalText,
  waitForConnection,
  waitForTerminalText,
  type TestBrowser,
} from './browser.js';

const EXERCISE = 'shell-warmup';

describe('interviewer pages', () => {
  const rig = pageRig();

  async function signIn(name: string): Promise<StaffSession> {
    const staff = await staffSession(rig.server, 'interviewer', name);
    const [cookieName, ...rest] = staff.cookie.split('=');
    await rig.browser.context.addCookies([{ name: cookieName!, value: rest.join('='), url: rig.server.url }]);
    return staff;
  }

  async function createInviteByApi(staff: StaffSession, candidateName: string): Promise<{ id: string; link: string }> {
    const res = await fetch(`${rig.server.url}/api/manage/invites`, {
      method: 'POST',
      headers: { ...staff.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ exerciseId: EXERCISE, candidateName, candidateEmail: 'someone@example.test', showFeedback: false }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { invite: { id: string; link: string } }).invite;
  }

  function row(page: Page, candidate: string) {
    return page.getByTestId('invite-row').filter({ hasText: candidate });
  }

  async function activeTestId(page: Page): Promise<string | null> {
    return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
  }

  test('invites, the live view, added time and the dashboard', { timeout: 180_000 }, async () => {
    const staff = await signIn('Iris Interviewer');
    await rig.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: rig.server.url });
    const page = await rig.browser.newPage();

    // Nothing yet: the dashboard points to the invites page.
    await page.goto(`${rig.server.url}/manage`);
    await page.getByTestId('attempts-empty').waitFor();
    await page.getByTestId('empty-invites-link').click();
    await page.waitForURL(/\/manage\/invites$/);

    // The form says what is missing, at the field, and puts the focus there.
    await page.getByTestId('invite-exercise').locator(`option[value="${EXERCISE}"]`).waitFor({ state: 'attached' });
    await page.getByTestId('create-invite').click();
    expect(await page.getByTestId('invite-form-error').textContent()).toContain('fields need a fix');
    expect(await page.getByTestId('invite-exercise-error').textContent()).toBe('Choose the exercise the candidate will work on.');
    expect(await page.getByTestId('invite-name-error').textContent()).toBe('Enter the candidate’s name.');
    expect(await page.getByTestId('invite-exercise').getAttribute('aria-invalid')).toBe('true');
    expect(await activeTestId(page)).toBe('invite-exercise');

    // The time limit follows the exercise's own.
    const exercises = (await (await fetch(`${rig.server.url}/api/exercises`)).json()) as {
      exercises: { id: string; timeLimitMinutes: number }[];
    };
    const warmup = exercises.exercises.find((e) => e.id === EXERCISE)!;
    await page.getByTestId('invite-exercise').selectOption(EXERCISE);
    expect(await page.getByTestId('invite-time-limit').inputValue()).toBe(String(warmup.timeLimitMinutes));
    expect(await page.getByTestId('invite-expires').inputValue()).toBe('7');
    await page.getByTestId('invite-name').fill('Ada Candidate');
    await page.getByTestId('invite-email').fill('not-an-address');
    await page.getByTestId('create-invite').click();
    expect(await page.getByTestId('invite-email-error').textContent()).toBe('Enter an email address like name@example.com.');
    expect(await page.getByTestId('invite-name-error').textContent()).toBe('');
    await page.getByTestId('invite-email').fill('ada@example.test');
    // Fixed while typing: the message at the field and the summary go away.
    expect(await page.getByTestId('invite-email-error').textContent()).toBe('');
    expect(await page.getByTestId('invite-form-error').count()).toBe(0);
    await page.getByTestId('invite-feedback').check();
    await page.getByTestId('invite-note').fill('Second round');
    await page.getByTestId('create-invite').click();

    // The link to send, with a copy button.
    await page.getByTestId('invite-created').waitFor();
    let link = await page.getByTestId('created-link').inputValue();
    expect(link).toMatch(/\/invite#[A-Za-z0-9_-]{40,}$/);
    await page.getByTestId('copy-created-link').click();
    await expect.poll(() => page.getByTestId('copy-status').textContent()).toBe('Link copied.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);

    // It is in the list, pending.
    const ada = row(page, 'Ada Candidate');
    await ada.waitFor();
    expect(await ada.getAttribute('data-status')).toBe('pending');
    expect(await ada.getByTestId('invite-status').textContent()).toContain('Pending');
    expect(await ada.textContent()).toContain('Iris Interviewer');

    // Another invite, revoked from the keyboard: the confirmation has the focus on "Keep it" first.
    await createInviteByApi(staff, 'Bob Revoked');
    await page.getByTestId('refresh-invites').click();
    const bob = row(page, 'Bob Revoked');
    await bob.waitFor();
    await bob.getByTestId('revoke').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('confirm-dialog').waitFor();
    expect(await activeTestId(page)).toBe('dialog-cancel');
    await page.keyboard.press('Escape');
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    expect(await bob.getAttribute('data-status')).toBe('pending');
    expect(await activeTestId(page)).toBe('revoke');
    await page.keyboard.press('Enter');
    await page.getByTestId('confirm-dialog').waitFor();
    await page.keyboard.press('Tab');
    expect(await activeTestId(page)).toBe('dialog-confirm');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="invite-row"][data-status="revoked"]').filter({ hasText: 'Bob Revoked' }).waitFor();
    expect(await bob.getByTestId('invite-status').textContent()).toContain('Revoked');
    expect(await bob.getByTestId('revoke').count()).toBe(0);
    expect(await bob.getByTestId('reissue').count()).toBe(0);
    await page.getByTestId('invite-created').scrollIntoViewIfNeeded();
    await screenshot(page, 'invites');

    // Filtering by status, kept in the URL over a reload.
    await page.getByTestId('filter-status').selectOption('revoked');
    await expect.poll(() => page.getByTestId('invite-row').count()).toBe(1);
    expect(await page.getByTestId('invite-row').first().textContent()).toContain('Bob Revoked');
    expect(new URL(page.url()).searchParams.get('status')).toBe('revoked');
    await page.reload();
    await page.locator('[data-testid="invite-row"][data-status="revoked"]').waitFor();
    expect(await page.getByTestId('filter-status').inputValue()).toBe('revoked');
    expect(await page.getByTestId('invite-row').count()).toBe(1);
    await page.getByTestId('filter-status').selectOption('');
    await row(page, 'Ada Candidate').waitFor();
    await page.getByTestId('filter-exercise').selectOption('ci-triage');
    await page.getByTestId('invites-empty').waitFor();
    expect(await page.getByTestId('invites-empty').textContent()).toBe('No invites match these filters.');
    await page.getByTestId('filter-exercise').selectOption(EXERCISE);
    await expect.poll(() => page.getByTestId('invite-row').count()).toBe(2);

    // The list holds no link: a row offers "Reissue link", which shows a new one once (the old one stops working).
    // Without the Clipboard API, "Copy link" shows it selected for Ctrl+C.
    expect(await page.getByTestId('copy-link').count()).toBe(0);
    const oldToken = new URL(link).hash.slice(1);
    expect(await page.getByTestId('invite-table').innerHTML()).not.toContain(oldToken);
    const bare = await rig.browser.newPage();
    await bare.addInitScript(() => Object.defineProperty(navigator, 'clipboard', { value: undefined }));
    await bare.goto(`${rig.server.url}/manage/invites`);
    const bareAda = row(bare, 'Ada Candidate');
    await bareAda.getByTestId('reissue').click();
    await bare.getByTestId('confirm-dialog').waitFor();
    await bare.getByTestId('dialog-confirm').click();
    await bare.locator('[data-testid="invite-created"][data-reissued="true"]').waitFor();
    const reissued = await bare.getByTestId('created-link').inputValue();
    expect(reissued).toMatch(/\/invite#[A-Za-z0-9_-]{40,}$/);
    expect(reissued).not.toBe(link);
    await bare.getByTestId('copy-created-link').click();
    expect(
      await bare.evaluate(() => {
        const el = document.activeElement as HTMLInputElement;
        return el.value.slice(el.selectionStart ?? 0, el.selectionEnd ?? 0);
      }),
    ).toBe(reissued);
    await bare.close();
    expect((await fetch(`${rig.server.url}/api/invite`, { headers: { authorization: `Bearer ${oldToken}` } })).status).toBe(404);
    link = reissued;

    // The candidate opens the link in another browser and starts.
    let candidateBrowser: TestBrowser | null = await launchBrowser();
    try {
      const candidate = await candidateBrowser.newPage();
      await candidate.goto(`${rig.server.url}/invite${new URL(link).hash}`);
      await candidate.getByTestId('invite-start').click();
      await candidate.waitForURL(/\/attempts\/a_[0-9a-f]+$/, { timeout: 90_000 });
      const attemptId = new URL(candidate.url()).pathname.split('/').pop()!;
      await waitForConnection(candidate);
      await waitForTerminalText(candidate, /[#$] ?$/m);

      // The invite is running; "Watch live" opens the live view.
      await page.getByTestId('refresh-invites').click();
      await page.locator('[data-testid="invite-row"][data-status="running"]').filter({ hasText: 'Ada Candidate' }).waitFor();
      const liveSent: (string | Buffer)[] = [];
      page.on('websocket', (ws) => {
        if (ws.url().endsWith('/live')) ws.on('framesent', ({ payload }) => liveSent.push(payload));
      });
      await row(page, 'Ada Candidate').getByTestId('open-attempt').click();
      await page.waitForURL(new RegExp(`/manage/attempts/${attemptId}/live$`));
      await waitForConnection(page);
      expect(await page.getByTestId('live-title').textContent()).toBe('Live: Ada Candidate');
      expect(await page.getByTestId('live-exercise').textContent()).not.toBe('…');
      expect(await page.getByTestId('live-readonly').textContent()).toContain('Read-only');

      // What the candidate types shows up in the live view.
      await candidate.getByTestId('terminal').click();
      await candidate.keyboard.type('echo live-$((6*7))');
      await candidate.keyboard.press('Enter');
      await waitForTerminalText(candidate, 'live-42');
      await waitForTerminalText(page, 'live-42');

      // Keys pressed in the live view go nowhere: not to the shell, not even onto the socket.
      await page.getByTestId('terminal').click();
      await page.keyboard.type('echo from-viewer-$((2*3))');
      await page.keyboard.press('Enter');
      await candidate.keyboard.type('echo after-$((1+1))');
      await candidate.keyboard.press('Enter');
      await waitForTerminalText(page, 'after-2');
      await waitForTerminalText(candidate, 'after-2');
      expect(await terminalText(page)).not.toContain('from-viewer');
      expect(await terminalText(candidate)).not.toContain('from-viewer');
      expect(liveSent.filter((p) => typeof p !== 'string')).toHaveLength(0);
      expect(liveSent.some((p) => typeof p === 'string' && JSON.parse(p).type === 'ack')).toBe(true);
      // The live view has the candidate's size, not its own.
      const candidateRows = await candidate.evaluate(
        () => document.querySelector('[data-testid="terminal"] .xterm-rows')?.childElementCount ?? 0,
      );
      const liveRows = await page.locator('[data-testid="terminal"]').getAttribute('data-rows');
      expect(Number(liveRows)).toBe(candidateRows);

      // Time added on the invites page (another tab) moves the deadline the live view shows.
      const deadline = page.getByTestId('live-deadline');
      const before = Date.parse((await deadline.getAttribute('datetime'))!);
      const remainingBefore = Number(await page.getByTestId('countdown').getAttribute('data-remaining-ms'));
      const invitesTab = await rig.browser.newPage();
      await invitesTab.goto(`${rig.server.url}/manage/invites`);
      await row(invitesTab, 'Ada Candidate').getByTestId('extend').click();
      await invitesTab.getByTestId('minutes-dialog').waitFor();
      expect(await activeTestId(invitesTab)).toBe('dialog-minutes');
      await invitesTab.getByTestId('dialog-minutes').fill('500');
      await invitesTab.getByTestId('dialog-confirm').click();
      expect(await invitesTab.getByTestId('dialog-error').textContent()).toBe('Enter a whole number of minutes from 1 to 240.');
      await invitesTab.getByTestId('dialog-minutes').fill('10');
      await invitesTab.keyboard.press('Enter');
      await invitesTab.getByTestId('minutes-dialog').waitFor({ state: 'detached' });
      await expect.poll(async () => Date.parse((await deadline.getAttribute('datetime'))!), { timeout: 10_000 }).toBe(before + 10 * 60_000);
      const remainingAfter = Number(await page.getByTestId('countdown').getAttribute('data-remaining-ms'));
      expect(remainingAfter).toBeGreaterThan(remainingBefore + 9 * 60_000);
      await invitesTab.close();

      // The candidate's tab goes away: the live view says so within its refresh, and the time away once it is back.
      const setVisibility = (state: 'hidden' | 'visible') => setPageVisibility(candidate, state);
      expect(await page.getByTestId('signal-away').textContent({ timeout: 15_000 })).toBe('none');
      await setVisibility('hidden');
      await expect.poll(() => page.getByTestId('signal-away-now').count(), { timeout: 20_000 }).toBe(1);
      expect(await page.getByTestId('signal-away-now').textContent()).toMatch(/^tab hidden now, for [0-9]+ s$/);
      await screenshot(page, 'live');
      await setVisibility('visible');
      await expect.poll(() => page.getByTestId('signal-away').textContent(), { timeout: 20_000 }).toMatch(/^[0-9]+ s \(1×\)$/);
      expect(await page.getByTestId('signal-away-now').count()).toBe(0);

      // The dashboard lists the attempt; the state filter keeps it or leaves it out, and lives in the URL.
      const dash = await rig.browser.newPage();
      await dash.goto(`${rig.server.url}/manage`);
      const attemptRow = dash.locator(`[data-testid="attempt-row"][data-attempt-id="${attemptId}"]`);
      await attemptRow.waitFor();
      expect(await attemptRow.textContent()).toContain('Ada Candidate');
      expect(await attemptRow.getByTestId('attempt-state').textContent()).toContain('Running');
      expect(await attemptRow.getByTestId('attempt-link').getAttribute('href')).toBe(`/manage/attempts/${attemptId}/live`);
      await dash.getByTestId('filter-state').selectOption('running');
      await expect.poll(() => new URL(dash.url()).searchParams.get('state')).toBe('running');
      // The old rows stay on screen while the filtered list loads: wait for the summary, not the row.
      await expect.poll(() => dash.getByTestId('attempts-summary').textContent(), { timeout: 10_000 }).toContain('1 attempt matching');
      await attemptRow.waitFor();
      await dash.getByTestId('sort-candidate').click();
      expect(await dash.locator('th:has([data-testid="sort-candidate"])').getAttribute('aria-sort')).toBe('ascending');
      expect(await dash.locator('th:has([data-testid="sort-createdAt"])').getAttribute('aria-sort')).toBe('none');
      await attemptRow.waitFor();
      await screenshot(dash, 'dashboard');
      // Back from the attempt returns to the same filters and sort.
      await attemptRow.getByTestId('attempt-link').click();
      await dash.waitForURL(/\/live$/);
      await dash.goBack();
      await attemptRow.waitFor();
      expect(await dash.getByTestId('filter-state').inputValue()).toBe('running');
      expect(await dash.locator('th:has([data-testid="sort-candidate"])').getAttribute('aria-sort')).toBe('ascending');
      await dash.getByTestId('filter-state').selectOption('submitted');
      await dash.getByTestId('attempts-empty').waitFor();
      expect(await attemptRow.count()).toBe(0);
      await dash.reload();
      await dash.getByTestId('attempts-empty').waitFor();
      expect(await dash.getByTestId('filter-state').inputValue()).toBe('submitted');
      expect(await dash.locator('th:has([data-testid="sort-candidate"])').getAttribute('aria-sort')).toBe('ascending');
      await dash.close();

      // The candidate submits: the live view says so and offers the review.
      await candidate.getByTestId('submit-button').click();
      await candidate.getByTestId('dialog-confirm').click();
      await page.getByTestId('ended-banner').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('ended-banner').textContent()).toContain('The candidate submitted.');
      expect(await page.getByTestId('ended-review-link').getAttribute('href')).toBe(`/manage/attempts/${attemptId}`);
      expect(await page.getByTestId('connection-state').getAttribute('data-state')).toBe('ended');
      await candidateBrowser.close();
      candidateBrowser = null;
    } finally {
      await candidateBrowser?.close().catch(() => undefined);
    }
    await page.close();
  });
  test("someone else's invite offers no changes; the review says when a link was reissued", { timeout: 120_000 }, async () => {
    const owner = await staffSession(rig.server, 'interviewer', 'Olga Owner');
    const invite = await createInviteByApi(owner, 'Rita Reissued');
    const started = await fetch(`${rig.server.url}/api/invite/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${new URL(invite.link).hash.slice(1)}` },
    });
    expect(started.status).toBe(201);
    const attemptId = ((await started.json()) as { attempt: { id: string } }).attempt.id;

    await signIn('Victor Viewer');
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/manage/invites`);
    const rita = page.locator('[data-testid="invite-row"][data-status="running"]').filter({ hasText: 'Rita Reissued' });
    await rita.waitFor();
    expect(await rita.getByTestId('open-attempt').count()).toBe(1);
    for (const action of ['reissue', 'extend', 'revoke']) expect(await rita.getByTestId(action).count(), action).toBe(0);

    const reissued = await fetch(`${rig.server.url}/api/manage/invites/${invite.id}/reissue`, { method: 'POST', headers: owner.headers });
    expect(reissued.status).toBe(200);
    await page.goto(`${rig.server.url}/manage/attempts/${attemptId}`);
    const note = page.getByTestId('review-reissued');
    await note.waitFor();
    expect(await note.textContent()).toContain('reissued by Olga Owner');
    await screenshot(page, 'review-reissued');
    await page.close();
  });

  test('dashboard: pages of 25, sortable headers and the score filter, all in the URL', async () => {
    const paula = await signIn('Paula Pager');
    const page = await rig.browser.newPage();
    // Sixty attempts would need sixty sandboxes: the list's answer is made up here, the requests are the page's.
    const requests: URLSearchParams[] = [];
    const total = 60;
    await page.route('**/api/manage/attempts?*', async (route) => {
      const query = new URL(route.request().url()).searchParams;
      requests.push(query);
      const pageNo = Number(query.get('page') ?? '1');
      const size = Number(query.get('pageSize'));
      const count = Math.max(0, Math.min(size, total - (pageNo - 1) * size));
      const attempts = Array.from({ length: count }, (_, i) => {
        const n = (pageNo - 1) * size + i + 1;
        return {
          id: `a_${String(n).padStart(20, '0')}`,
          exerciseId: EXERCISE,
          exerciseTitle: 'Shell warm-up',
          mode: 'interview',
          state: 'submitted',
          endReason: 'submitted',
          candidateName: `Candidate ${n}`,
          interviewer: { id: 'u_someone', name: 'Someone' },
          createdAt: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
          startedAt: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
          deadline: null,
          endedAt: new Date(Date.UTC(2026, 0, 1, 1, n)).toISOString(),
          score: n % 9,
          maxScore: 8,
          reviews: n % 3,
        };
      });
      await route.fulfill({ json: { attempts, total, page: pageNo, pageSize: size } });
    });
    const last = () => requests[requests.length - 1]!;

    await page.goto(`${rig.server.url}/manage`);
    await page.getByTestId('attempt-row').first().waitFor();
    expect(await page.getByTestId('attempt-row').count()).toBe(25);
    expect(last().get('pageSize')).toBe('25');
    expect(last().get('page')).toBe('1');
    expect(await page.getByTestId('attempts-summary').textContent()).toBe('1–25 of 60 attempts.');
    expect(await page.getByTestId('page-text').textContent()).toBe('Page 1 of 3');
    expect(await page.getByTestId('page-previous').getAttribute('aria-disabled')).toBe('true');
    const firstRow = page.getByTestId('attempt-row').first();
    expect(await firstRow.getByTestId('attempt-state').textContent()).toContain('Submitted');
    expect(await firstRow.getByTestId('attempt-link').getAttribute('href')).toBe(`/manage/attempts/a_${'1'.padStart(20, '0')}`);

    await page.getByTestId('page-next').click();
    await page.waitForURL(/[?&]page=2/);
    await page.locator('[data-testid="attempt-row"]', { hasText: 'Candidate 26' }).waitFor();
    expect(last().get('page')).toBe('2');
    expect(await page.getByTestId('attempts-summary').textContent()).toBe('26–50 of 60 attempts.');
    await page.goBack();
    await page.locator('[data-testid="attempt-row"]', { hasText: 'Candidate 1' }).first().waitFor();
    expect(await page.getByTestId('page-text').textContent()).toBe('Page 1 of 3');

    // Sorting: a score header starts with the highest; a second press turns it round. Created is the default.
    const th = (sort: string) => page.locator(`th:has([data-testid="sort-${sort}"])`);
    expect(await th('createdAt').getAttribute('aria-sort')).toBe('descending');
    await page.getByTestId('sort-score').click();
    await expect.poll(() => last().get('sort')).toBe('score');
    expect(last().get('order')).toBe('desc');
    expect(await th('score').getAttribute('aria-sort')).toBe('descending');
    expect(await th('createdAt').getAttribute('aria-sort')).toBe('none');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('sort-score');
    await page.keyboard.press('Enter');
    await expect.poll(() => last().get('order')).toBe('asc');
    expect(await th('score').getAttribute('aria-sort')).toBe('ascending');
    expect(new URL(page.url()).searchParams.get('sort')).toBe('score');
    expect(new URL(page.url()).searchParams.get('order')).toBe('asc');

    // Interviewers can narrow the list to their own invites.
    await page.getByTestId('filter-interviewer').selectOption(paula.user.id);
    await expect.poll(() => last().get('interviewer')).toBe(paula.user.id);
    expect(await page.getByTestId('filter-interviewer').locator('option:checked').textContent()).toBe('Me (Paula Pager)');
    await page.getByTestId('filter-interviewer').selectOption('');
    await expect.poll(() => last().has('interviewer')).toBe(false);

    // Score range in percent: a reversed range is refused at the fields; a good one is sent and kept.
    await page.getByTestId('filter-min-score').fill('50');
    await page.getByTestId('filter-max-score').fill('20');
    // Leaving the lowest score applied it on its own.
    await expect.poll(() => last().get('minScore')).toBe('50');
    const before = requests.length;
    await page.getByTestId('filter-max-score').press('Enter');
    expect(await page.getByTestId('score-filter-error').textContent()).toBe('The lowest score is above the highest.');
    expect(await page.getByTestId('filter-max-score').getAttribute('aria-invalid')).toBe('true');
    expect(requests.length).toBe(before);
    await page.getByTestId('filter-max-score').fill('90');
    await page.getByTestId('filter-max-score').press('Enter');
    await expect.poll(() => last().get('maxScore')).toBe('90');
    expect(last().get('minScore')).toBe('50');
    expect(last().get('page')).toBe('1');
    expect(await page.getByTestId('score-filter-error').textContent()).toBe('');
    await page.reload();
    await page.getByTestId('attempt-row').first().waitFor();
    expect(await page.getByTestId('filter-min-score').inputValue()).toBe('50');
    expect(await page.getByTestId('filter-max-score').inputValue()).toBe('90');
    expect(await th('score').getAttribute('aria-sort')).toBe('ascending');
    expect(last().get('minScore')).toBe('50');
    expect(last().get('sort')).toBe('score');

    // Export CSV downloads every attempt of the current filter from the server (which has none of the made-up
    // sixty): the file has the header row alone, and the audit log has the filter the page sent.
    const exportLink = page.getByTestId('export-csv');
    const href = new URL((await exportLink.getAttribute('href'))!, rig.server.url);
    expect(href.pathname).toBe('/api/manage/attempts/export.csv');
    expect(Object.fromEntries(href.searchParams)).toEqual({ minScore: '50', maxScore: '90', sort: 'score', order: 'asc' });
    const [download] = await Promise.all([page.waitForEvent('download'), exportLink.click()]);
    expect(download.suggestedFilename()).toMatch(/^opslab-attempts-\d{8}-\d{6}Z\.csv$/);
    const file = await download.path();
    const csv = fs.readFileSync(file, 'utf8');
    expect(csv.startsWith('\uFEFFattempt id,candidate name,candidate email,')).toBe(true);
    expect(csv.endsWith(',review link\r\n')).toBe(true);
    expect((await rig.server.services.auth.auditEntries(1))[0]).toMatchObject({
      action: 'attempts.export',
      user: { id: paula.user.id },
      detail: { rows: 0, filter: { mode: 'interview', minScore: 50, maxScore: 90, sort: 'score', order: 'asc' } },
    });
    await page.close();
  });
});
