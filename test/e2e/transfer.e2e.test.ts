// Files in and out of the workspace, and the signals reviewers see, in real Chromium against a real server and
// engine: upload a file from the editor panel (and one dropped onto the tree) and see it with `ls` in the terminal; download the workspace's tarball
// and read it; paste a long text into the terminal and switch to another tab, then see both on the review page.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { editorRoots } from '../../server/src/workspace-files/files-service.js';
import { staffSession } from '../helpers/staff.js';
import { ARTIFACTS_DIR, pageRig, screenshot, setPageVisibility, startFirstExercise, waitForTerminalText } from './browser.js';
import { readTarEntries } from '../helpers/tar.js';

async function tarEntries(gz: Buffer): Promise<Map<string, string>> {
  return new Map((await readTarEntries(gz)).map((e) => [e.name, e.body.toString('utf8')]));
}

describe('workspace transfers and signals', () => {
  const rig = pageRig();

  test('upload, ls it, download the tarball; a long paste and a tab switch show on the review', async () => {
    const page = await rig.browser.newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    const url = await startFirstExercise(page, rig.server.url);
    const attemptId = url.split('/').pop()!;
    const attempt = (await rig.server.services.attempts.get(attemptId))!;
    const root = editorRoots(rig.server.services.catalog.forAttempt(attempt)!)[0]!;

    // The Keyboard panel says what is recorded.
    await page.getByTestId('keyboard-help-button').click();
    expect(await page.getByTestId('keyboard-help-recorded').textContent()).toContain('pastes of 200 characters or more');
    await page.keyboard.press('Escape');

    // Upload from the editor panel.
    await page.getByTestId('editor-toggle').click();
    const uploadButton = page.getByTestId('editor-upload');
    await uploadButton.waitFor();
    const content = `uploaded from the browser ${Date.now()}\n`;
    await page.getByTestId('editor-upload-input').setInputFiles({ name: 'from-laptop.txt', mimeType: 'text/plain', buffer: Buffer.from(content) });
    await page.locator('[data-testid="editor-message"]', { hasText: 'Uploaded' }).waitFor();
    await page.getByTestId(`file-${root}/from-laptop.txt`).waitFor();
    await page.locator('[data-testid="terminal"] .xterm').click();
    await page.keyboard.type(`ls ${root}; cat ${root}/from-laptop.txt; echo listed-$((6*7))`);
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, /from-laptop\.txt[\s\S]*uploaded from the browser[\s\S]*listed-42/);
    await screenshot(page, 'transfer-workspace');

    // A file dropped onto the folder in the tree is uploaded there (the browser's drop event with a File).
    await page.evaluate((folder) => {
      const target = document.querySelector(`[data-testid="file-tree"] details[data-path="${folder}"] summary`)!;
      const data = new DataTransfer();
      data.items.add(new File(['dropped\n'], 'dropped.txt', { type: 'text/plain' }));
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, root);
    await page.getByTestId(`file-${root}/dropped.txt`).waitFor();
    const sandboxId = attempt.sandboxId!;
    expect((await rig.server.services.driver.exec(sandboxId, ['cat', `${root}/dropped.txt`])).stdout).toBe('dropped\n');

    // Download the whole workspace and read it.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('editor-download-all').click()]);
    const saved = path.join(ARTIFACTS_DIR, 'transfer-workspace.tar.gz');
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await download.saveAs(saved);
    const entries = await tarEntries(fs.readFileSync(saved));
    expect(entries.get(`${root.slice(1)}/from-laptop.txt`)).toBe(content);
    expect(entries.get(`${root.slice(1)}/dropped.txt`)).toBe('dropped\n');
    // Single files have their own links.
    expect(await page.getByTestId(`download-${root}/from-laptop.txt`).getAttribute('href')).toContain('/download?path=');

    // A long paste into the terminal (the browser's own paste event, with the text on its clipboard data).
    const pasted = `# ${'x'.repeat(1238)}`;
    await page.locator('[data-testid="terminal"] .xterm').click();
    await page.evaluate((text) => {
      const target = document.querySelector('[data-testid="terminal"] .xterm-helper-textarea')!;
      const data = new DataTransfer();
      data.setData('text/plain', text);
      target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, pasted);
    await page.keyboard.press('Enter');

    // Switch to another tab for a moment, then back. Headless Chromium keeps every tab visible and focused
    // (bringToFront changes neither), so the page is told what a real tab switch tells it: visibilityState becomes
    // `hidden` with a visibilitychange event, then `visible` again. The length is measured by the server.
    const other = await rig.browser.newPage();
    await other.goto('about:blank');
    await other.bringToFront();
    const setVisibility = (state: 'hidden' | 'visible') => setPageVisibility(page, state);
    await setVisibility('hidden');
    await other.waitForTimeout(2_200);
    await page.bringToFront();
    await setVisibility('visible');
    await page.locator('[data-testid="terminal"] .xterm').click();
    await other.close();
    const deadline = Date.now() + 10_000;
    const repo = () => rig.server.services.sqlite!.prepare("SELECT kind FROM attempt_events WHERE attempt_id = ? AND kind IN ('signal.paste', 'signal.away')").all(attemptId);
    while (Date.now() < deadline && repo().length < 2) await page.waitForTimeout(100);
    await rig.server.services.attempts.submit(attemptId);

    // The review shows both, plainly, with a summary.
    const me = await staffSession(rig.server, 'interviewer', 'Robin Reviewer');
    const [cookieName, ...rest] = me.cookie.split('=');
    await rig.browser.context.addCookies([{ name: cookieName!, value: rest.join('='), url: rig.server.url }]);
    const review = await rig.browser.newPage();
    await review.setViewportSize({ width: 1280, height: 900 });
    await review.goto(`${rig.server.url}/manage/attempts/${attemptId}`);
    const facts = review.getByTestId('timeline-fact');
    await facts.first().waitFor({ timeout: 30_000 });
    const texts = await facts.allTextContents();
    expect(texts.some((t) => t.includes('pasted 1,240 characters into the terminal'))).toBe(true);
    expect(texts.some((t) => /tab (hidden|out of focus) for [0-9]+ s/.test(t))).toBe(true);
    expect(texts.some((t) => t.includes(`uploaded ${root}/from-laptop.txt`))).toBe(true);
    expect(texts.some((t) => t.includes('downloaded the workspace'))).toBe(true);
    expect(await review.getByTestId('signal-pastes').textContent()).toBe('1 (1,240 characters)');
    expect(await review.getByTestId('signal-away').textContent()).toMatch(/^[0-9]+ s \(1×\)$/);
    await review.getByTestId('timeline').scrollIntoViewIfNeeded();
    await screenshot(review, 'transfer-review-signals');
    await review.close();
    await page.close();
  });

  test('an invite allows uploads: the form, the list, the landing page says what is recorded, the workspace offers Upload only', async () => {
    const me = await staffSession(rig.server, 'interviewer', 'Iris Interviewer');
    const [cookieName, ...rest] = me.cookie.split('=');
    await rig.browser.context.addCookies([{ name: cookieName!, value: rest.join('='), url: rig.server.url }]);
    const staffPage = await rig.browser.newPage();
    await staffPage.goto(`${rig.server.url}/manage/invites`);
    await staffPage.getByTestId('invite-exercise').locator('option[value="shell-warmup"]').waitFor({ state: 'attached' });
    await staffPage.getByTestId('invite-exercise').selectOption('shell-warmup');
    await staffPage.getByTestId('invite-name').fill('Uma Uploader');
    await staffPage.getByTestId('invite-email').fill('uma@example.test');
    expect(await staffPage.getByTestId('invite-upload').isChecked()).toBe(false);
    expect(await staffPage.getByTestId('invite-download').isChecked()).toBe(false);
    await staffPage.getByTestId('invite-upload').check();
    await staffPage.getByTestId('create-invite').click();
    await staffPage.getByTestId('invite-created').waitFor();
    const link = await staffPage.getByTestId('created-link').inputValue();
    const row = staffPage.getByTestId('invite-row').filter({ hasText: 'Uma Uploader' });
    await row.waitFor();
    expect(await row.getByTestId('invite-files-cell').textContent()).toBe('Files: uploads allowed');
    await staffPage.close();

    // The candidate reads what is recorded before starting; the workspace offers Upload and no downloads.
    const candidate = await rig.browser.newPage();
    await candidate.goto(link);
    const recorded = candidate.getByTestId('invite-recorded');
    await recorded.waitFor();
    const items = (await recorded.locator('li').allTextContents()).join('\n');
    expect(items).toContain('pastes of 200 characters or more');
    expect(items).toContain('hidden or loses focus');
    await recorded.scrollIntoViewIfNeeded();
    await screenshot(candidate, 'transfer-invite-landing');
    await candidate.getByTestId('invite-start').click();
    await candidate.waitForURL(/\/attempts\/[^/]+$/, { timeout: 60_000 });
    // The panel remembers (in this browser) that it was unfolded in the test before.
    await candidate.getByTestId('editor-upload').waitFor();
    if ((await candidate.getByTestId('editor-pane').getAttribute('data-state')) !== 'open') await candidate.getByTestId('editor-toggle').click();
    await candidate.getByTestId('file-tree').locator('details').first().waitFor();
    expect(await candidate.getByTestId('editor-download-all').isHidden()).toBe(true);
    expect(await candidate.locator('.file-download').count()).toBe(0);
    await candidate.close();
  });
});
