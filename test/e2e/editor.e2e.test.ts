// The workspace's file editor in real Chromium against a real server and engine: open a file from the tree, edit,
// save with Ctrl+S and see it in the shell; a change made in the shell shows up when the editor gets the focus; the
// overwrite-or-reload prompt when both changed; F6 through instructions → editor → terminal. Also measures the time
// from Save to the file being in the sandbox against a plain `docker cp` (the engine's putArchive) of the same file.
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import tarStream from 'tar-stream';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { api, startAttempt } from '../helpers/api.js';
import { staffSession } from '../helpers/staff.js';
import { ARTIFACTS_DIR, pageRig, screenshot, startFirstExercise, terminalHasFocus, waitForTerminalText } from './browser.js';

const FILE = '/root/work/pipeline.yml';
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function editorText(page: Page): Promise<string> {
  return page.locator('.cm-content').evaluate((el) =>
    Array.from(el.querySelectorAll('.cm-line'), (line) => line.textContent ?? '').join('\n'),
  );
}

async function waitForEditorText(page: Page, pattern: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await editorText(page).catch(() => '');
    if (text.includes(pattern)) return text;
    await page.waitForTimeout(50);
  }
  throw new Error(`the editor never showed ${pattern}; it shows:\n${text}`);
}

async function typeInTerminal(page: Page, line: string): Promise<void> {
  await page.locator('[data-testid="terminal"] .xterm').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

describe('workspace editor', () => {
  const rig = pageRig();

  test('open, edit, Ctrl+S, see it in the shell; shell changes show on focus; conflicts ask; F6 cycles', async () => {
    const page = await rig.browser.newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    const url = await startFirstExercise(page, rig.server.url);
    const attemptId = url.split('/').pop()!;
    const sandboxId = (await rig.server.services.attempts.get(attemptId))!.sandboxId!;
    const inSandbox = async (cmd: string) => (await rig.server.services.driver.exec(sandboxId, ['sh', '-c', cmd])).stdout;

    await typeInTerminal(page, `mkdir -p /root/work && printf 'name: demo\\nsteps:\\n  - run: make\\n' > ${FILE} && echo made-$((2+3))`);
    await waitForTerminalText(page, 'made-5');

    // The panel starts folded above the terminal; unfolding it lists the workspace.
    const pane = page.getByTestId('editor-pane');
    await pane.waitFor();
    expect(await pane.getAttribute('aria-label')).toBe('Editor');
    await page.getByTestId('editor-toggle').click();
    const fileButton = page.getByTestId(`file-${FILE}`);
    await fileButton.waitFor();
    await fileButton.click();
    await waitForEditorText(page, 'name: demo');
    expect(await page.getByTestId('editor-file').textContent()).toBe(FILE);
    // YAML is highlighted (the key is its own token).
    expect(await page.locator('.cm-content .cm-line span').count()).toBeGreaterThan(0);

    // Edit, see the marker, save with Ctrl+S.
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('  - run: make test\n');
    await page.getByTestId('editor-modified').waitFor();
    await page.keyboard.press('Control+S');
    await page.getByTestId('editor-modified').waitFor({ state: 'hidden' });
    await typeInTerminal(page, `cat ${FILE}; echo end-$((3+4))`);
    await waitForTerminalText(page, /run: make test[\s\S]*end-7/);

    // Changed from the shell: the editor takes it when it gets the focus.
    await typeInTerminal(page, `echo 'from-shell: 1' >> ${FILE}`);
    await page.waitForTimeout(1_100);
    await page.locator('.cm-content').click();
    await waitForEditorText(page, 'from-shell: 1');
    expect(await page.getByTestId('editor-modified').isHidden()).toBe(true);

    // Both changed: saving asks, and overwriting keeps the editor's text.
    await page.keyboard.press('Control+End');
    await page.keyboard.type('mine: 1\n');
    await inSandbox(`echo 'theirs: 1' >> ${FILE}`);
    await page.keyboard.press('Control+S');
    const message = page.getByTestId('editor-message');
    await page.locator('[data-testid="editor-message"][data-kind="conflict"]').waitFor();
    expect(await message.textContent()).toContain('changed in the sandbox');
    await screenshot(page, 'editor-conflict');
    await page.getByTestId('conflict-overwrite').click();
    await page.getByTestId('editor-modified').waitFor({ state: 'hidden' });
    const after = await inSandbox(`cat ${FILE}`);
    expect(after).toContain('mine: 1');
    expect(after).not.toContain('theirs: 1');

    // Both changed again, this time noticed on focus: reloading takes the sandbox's file.
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('draft: 1');
    await typeInTerminal(page, `echo 'shell-again: 1' >> ${FILE}`);
    await page.waitForTimeout(1_100);
    await page.locator('.cm-content').click();
    await page.locator('[data-testid="editor-message"][data-kind="conflict"]').waitFor();
    await page.getByTestId('conflict-reload').click();
    const reloaded = await waitForEditorText(page, 'shell-again: 1');
    expect(reloaded).not.toContain('draft: 1');
    expect(await page.getByTestId('editor-modified').isHidden()).toBe(true);

    // A binary file is not opened: a message says why.
    await inSandbox('head -c 64 /dev/urandom > /root/work/blob.bin; printf "\\0" >> /root/work/blob.bin');
    await page.waitForTimeout(1_100);
    await page.getByTestId('editor-toggle').focus();
    await page.getByTestId(`file-/root/work/blob.bin`).click();
    await page.getByTestId('editor-readonly').waitFor();
    expect(await page.getByTestId('editor-readonly').textContent()).toMatch(/binary|UTF-8/);
    await page.getByTestId(`file-${FILE}`).click();
    await waitForEditorText(page, 'shell-again: 1');
    await screenshot(page, 'editor-workspace');

    // Keyboard: F6 from the instructions goes to the editor, then to the terminal.
    await page.getByTestId('instructions').focus();
    await page.keyboard.press('F6');
    expect(await page.evaluate(() => !!document.activeElement?.closest('.cm-editor'))).toBe(true);
    await page.keyboard.press('F6');
    expect(await terminalHasFocus(page)).toBe(true);
    await page.keyboard.press('Shift+F6');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('instructions');

    // The save latency: Ctrl+S to the file in the sandbox (the server answers once the engine wrote it), against the
    // engine's own putArchive of the same bytes from here.
    const rounds = 20;
    const editor: number[] = [];
    for (let i = 0; i < rounds; i++) {
      await page.locator('.cm-content').click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type(`# ${i}\n`);
      await page.getByTestId('editor-modified').waitFor();
      const started = performance.now();
      const saved = page.waitForResponse((r) => r.url().endsWith('/file') && r.request().method() === 'PUT');
      await page.keyboard.press('Control+S');
      expect((await saved).status()).toBe(200);
      editor.push(performance.now() - started);
      await page.getByTestId('editor-modified').waitFor({ state: 'hidden' });
    }
    expect(await inSandbox(`tail -n 1 ${FILE}`)).toBe(`# ${rounds - 1}\n`);
    const bytes = Buffer.from(await inSandbox(`cat ${FILE}`));
    const container = new Docker().getContainer(sandboxId);
    const raw: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const pack = tarStream.pack();
      pack.entry({ name: 'pipeline-cp.yml', size: bytes.length, mode: 0o644 }, bytes);
      pack.finalize();
      const started = performance.now();
      await container.putArchive(pack as unknown as NodeJS.ReadableStream, { path: '/root/work' });
      raw.push(performance.now() - started);
    }
    const figures = {
      fileBytes: bytes.length,
      rounds,
      editorSaveMedianMs: Math.round(median(editor) * 10) / 10,
      dockerCpMedianMs: Math.round(median(raw) * 10) / 10,
    };
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS_DIR, 'editor-save-latency.json'), JSON.stringify({ ...figures, editor, raw }, null, 2));
    console.log(`editor save → file in the sandbox: median ${figures.editorSaveMedianMs} ms; docker cp (putArchive): median ${figures.dockerCpMedianMs} ms (${rounds} each, ${bytes.length} bytes)`);
    await page.close();
  });
  test('the review shows saves from the editor between the commands, with their diff', async () => {
    const { url } = rig.server;
    const started = await startAttempt(url, 'shell-warmup');
    const id = started.attempt.id;
    const put = (content: string, baseVersion: string | null) =>
      api(url, 'PUT', `/api/attempts/${id}/file`, started.token, { path: '/root/work/deploy.yml', content, baseVersion });
    const first = await put('replicas: 1\n', null);
    expect(first.status, first.text).toBe(200);
    const second = await put('replicas: 3\nimage: web:2\n', first.body.version);
    expect(second.status, second.text).toBe(200);
    expect((await api(url, 'POST', `/api/attempts/${id}/submit`, started.token)).status).toBe(200);

    const me = await staffSession(rig.server, 'interviewer', 'Robin Reviewer');
    const [cookieName, ...rest] = me.cookie.split('=');
    await rig.browser.context.addCookies([{ name: cookieName!, value: rest.join('='), url }]);
    const page = await rig.browser.newPage();
    await page.goto(`${url}/manage/attempts/${id}`);
    const saves = page.getByTestId('timeline-save');
    await saves.first().waitFor({ timeout: 30_000 });
    expect(await saves.count()).toBe(2);
    expect(await saves.first().textContent()).toContain('saved /root/work/deploy.yml');
    expect(await page.getByTestId('timeline-count').textContent()).toContain('2 file saves');
    const diff = page.locator('.timeline-save-diff').last();
    await diff.locator('summary').click();
    const text = await diff.locator('pre').textContent();
    expect(text).toContain('-replicas: 1');
    expect(text).toContain('+replicas: 3');
    expect(text).toContain('+image: web:2');
    await screenshot(page, 'editor-review-saves');
    await page.close();
  });
});
