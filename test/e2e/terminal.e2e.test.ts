// The candidate's journey in real Chromium against a real server and real Docker: pick an exercise, get a
// shell, run a command, reload, and find the same screen again.
import { beforeEach, describe, expect, test } from 'vitest';
import {
  recordTerminalFrames,
  screenshot,
  startFirstExercise,
  terminalHasFocus,
  waitForConnection,
  waitForTerminalText,
  pageRig,
} from './browser.js';

describe('browser terminal', () => {
  const rig = pageRig();
  // Each test is a new trainee: their own practice token, no attempt of an earlier test in their catalog.
  beforeEach(() => rig.browser.context.clearCookies());

  test('start an exercise, run a command, reload and see the same screen', async () => {
    const page = await rig.browser.newPage();
    const frames = recordTerminalFrames(page);

    await page.goto(`${rig.server.url}/`);
    await page.getByTestId('exercise-card').first().waitFor();
    await screenshot(page, 'catalog');

    const attemptUrl = await startFirstExercise(page, rig.server.url);
    expect(attemptUrl).toMatch(/\/attempts\/[^/]+$/);
    expect(await terminalHasFocus(page)).toBe(true);

    await page.keyboard.type('echo opslab-$((6*7))');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, 'opslab-42');
    await screenshot(page, 'workspace');

    // The terminal told the server its size when it connected.
    const resize = frames.sent.find((m) => m.type === 'resize');
    expect(resize).toMatchObject({ type: 'resize', cols: expect.any(Number), rows: expect.any(Number) });
    expect(resize!.cols as number).toBeGreaterThan(40);

    await page.reload();
    await waitForConnection(page);
    // Nothing is typed again: the text can only come from the server's repaint of the screen.
    const repainted = await waitForTerminalText(page, 'opslab-42');
    expect(repainted).toContain('echo opslab-$((6*7))');
    expect(await terminalHasFocus(page)).toBe(true);

    const countdown = (await page.getByTestId('countdown').textContent()) ?? '';
    expect(countdown).toMatch(/^\d+:\d{2}(:\d{2})?$/);
    await screenshot(page, 'workspace-after-reload');
    await page.close();
  });
});
