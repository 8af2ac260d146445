// A second terminal in real Chromium against a real server and real Docker: the candidate opens the second tab,
// runs a command there, switches back to the first, which sees the same files; an interviewer watches either
// terminal live, and the review shows the commands of both, a click on one of terminal 2 playing its replay.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { api, startAttempt } from '../helpers/api.js';
import { staffSession } from '../helpers/staff.js';
import { holdAttempt, pageRig, screenshot, terminalHasFocus, waitForConnection, waitForTerminalText } from './browser.js';

/** What terminal `n`'s xterm shows (terminal 1 is the page's `terminal`). */
async function tabText(page: Page, n: number): Promise<string> {
  const id = n === 1 ? 'terminal' : `terminal-${n}`;
  return page
    .locator(`[data-testid="${id}"] .xterm-rows`)
    .evaluate((rows) => Array.from(rows.children, (row) => (row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()).join('\n'));
}

async function waitForTab(page: Page, n: number, pattern: string | RegExp): Promise<string> {
  let text = '';
  await expect
    .poll(
      async () => {
        text = await tabText(page, n).catch(() => '');
        return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
      },
      { timeout: 30_000, interval: 100 },
    )
    .toBe(true);
  return text;
}

/** The last `stty size` answer ("<rows> <cols>") terminal `n` shows after `label`. */
async function sizeAfter(page: Page, n: number, label: string): Promise<string> {
  const text = await waitForTab(page, n, new RegExp(`^${label} \\d+ \\d+$`, 'm'));
  const found = [...text.matchAll(new RegExp(`^${label} (\\d+ \\d+)$`, 'gm'))];
  return found[found.length - 1]![1]!;
}

describe('second terminal tab', () => {
  const rig = pageRig();

  test('a terminal whose tab is hidden keeps its size: its shell and screen are not shrunk meanwhile', async () => {
    const { url } = rig.server;
    const started = await startAttempt(url, 'shell-warmup');
    const id = started.attempt.id;
    await holdAttempt(rig.browser, id, started.token);
    const page = await rig.browser.newPage();
    // Every resize each terminal's socket sends, by terminal.
    const resizes: Record<string, { cols: number; rows: number }[]> = {};
    page.on('websocket', (ws) => {
      const n = /[?&]terminal=(\d+)/.exec(ws.url())?.[1] ?? '1';
      ws.on('framesent', ({ payload }) => {
        if (typeof payload !== 'string') return;
        const message = JSON.parse(payload) as { type?: string; cols: number; rows: number };
        if (message.type === 'resize') (resizes[n] ??= []).push({ cols: message.cols, rows: message.rows });
      });
    });
    await page.goto(`${url}/attempts/${id}`);
    await waitForConnection(page);
    await waitForTerminalText(page, /[#$] ?$/m);
    await page.getByTestId('terminal').click();
    await page.keyboard.type('echo shown-1 $(stty size)');
    await page.keyboard.press('Enter');
    const size1 = await sizeAfter(page, 1, 'shown-1');

    // Terminal 1 asks its TTY's size while terminal 2 is shown, and terminal 2 while terminal 1 is (each waits
    // for a file the other terminal makes once it is shown).
    await page.keyboard.type('until [ -e /tmp/go1 ]; do sleep 0.1; done; echo hidden-1 $(stty size)');
    await page.keyboard.press('Enter');
    await page.getByTestId('terminal-tab-2').click();
    await waitForTab(page, 2, /[#$] ?$/m);
    await page.keyboard.type('echo shown-2 $(stty size)');
    await page.keyboard.press('Enter');
    const size2 = await sizeAfter(page, 2, 'shown-2');
    await page.waitForTimeout(500);
    await page.keyboard.type('touch /tmp/go1; until [ -e /tmp/go2 ]; do sleep 0.1; done; echo hidden-2 $(stty size)');
    await page.keyboard.press('Enter');
    await page.getByTestId('terminal-tab-1').click();
    expect(await sizeAfter(page, 1, 'hidden-1')).toBe(size1);
    await page.waitForTimeout(500);
    await page.keyboard.type('touch /tmp/go2');
    await page.keyboard.press('Enter');
    await page.getByTestId('terminal-tab-2').click();
    expect(await sizeAfter(page, 2, 'hidden-2')).toBe(size2);

    // Neither socket sent the size of a hidden box (before: 10x5 from each terminal whose tab was hidden).
    const tiny = (list: { cols: number; rows: number }[] | undefined) => (list ?? []).filter((s) => s.cols < 40 || s.rows < 10);
    expect(resizes['1']?.length).toBeGreaterThan(0);
    expect(tiny(resizes['1'])).toEqual([]);
    expect(tiny(resizes['2'])).toEqual([]);
    await page.close();
    await api(url, 'POST', `/api/attempts/${id}/submit`, started.token);
  });

  test('open the second tab, run a command, switch back; the live view and the review show both', async () => {
    const { url } = rig.server;
    const started = await startAttempt(url, 'shell-warmup');
    const id = started.attempt.id;
    await holdAttempt(rig.browser, id, started.token);
    const page = await rig.browser.newPage();
    await page.goto(`${url}/attempts/${id}`);
    await waitForConnection(page);
    await waitForTerminalText(page, /[#$] ?$/m);
    await page.getByTestId('terminal').click();
    await page.keyboard.type('echo one-$((1+1))');
    await page.keyboard.press('Enter');
    await waitForTab(page, 1, 'one-2');

    // The second tab: a shell of its own, with the focus, in the same sandbox.
    expect(await page.getByTestId('terminal-tab-1').getAttribute('aria-selected')).toBe('true');
    await page.getByTestId('terminal-tab-2').click();
    expect(await page.getByTestId('terminal-tab-2').getAttribute('aria-selected')).toBe('true');
    expect(await page.getByTestId('terminal').isHidden()).toBe(true);
    await waitForTab(page, 2, /[#$] ?$/m);
    expect(await terminalHasFocus(page)).toBe(true);
    expect(await tabText(page, 2)).not.toContain('one-2');
    await page.keyboard.type('echo two-$((2+2)) > /root/from-two.txt; cat /root/from-two.txt');
    await page.keyboard.press('Enter');
    await waitForTab(page, 2, /^two-4$/m);
    await expect.poll(() => page.getByTestId('terminal-tab-2').getAttribute('data-state')).toBe('connected');
    await screenshot(page, 'second-terminal-tab');

    // Back to the first: its screen is as it was, and it sees the file the second wrote.
    await page.getByTestId('terminal-tab-1').click();
    expect(await page.getByTestId('terminal-2').isHidden()).toBe(true);
    expect(await terminalHasFocus(page)).toBe(true);
    await page.keyboard.type('tr a-z A-Z < /root/from-two.txt');
    await page.keyboard.press('Enter');
    await waitForTab(page, 1, 'TWO-4');
    expect(await tabText(page, 1)).toContain('one-2');
    await screenshot(page, 'second-terminal-back-to-first');

    // A reload opens terminal 1; the second tab's shell is still the same one, its screen repainted.
    await page.reload();
    await waitForConnection(page);
    await page.getByTestId('terminal-tab-2').click();
    await waitForTab(page, 2, /^two-4$/m);

    // The interviewer's live view switches between the two.
    const staff = await staffSession(rig.server, 'interviewer');
    const [cookieName, ...rest] = staff.cookie.split('=');
    await rig.browser.context.addCookies([{ name: cookieName!, value: rest.join('='), url }]);
    const live = await rig.browser.newPage();
    await live.goto(`${url}/manage/attempts/${id}/live`);
    await waitForConnection(live, 'connected');
    await waitForTab(live, 1, 'TWO-4');
    await live.getByTestId('terminal-tab-2').click();
    await waitForConnection(live, 'connected');
    await expect.poll(async () => (await tabText(live, 1).catch(() => '')).includes('cat /root/from-two.txt'), { timeout: 20_000 }).toBe(true);
    expect(await tabText(live, 1)).not.toContain('TWO-4');
    await screenshot(live, 'second-terminal-live-view');
    await live.getByTestId('terminal-tab-1').click();
    await waitForTab(live, 1, 'TWO-4');
    await page.close();

    const submitted = await api(url, 'POST', `/api/attempts/${id}/submit`, started.token);
    expect(submitted.status).toBe(200);

    // The review: both terminals' commands, the second's marked; a click plays its replay.
    await live.close();
    const review = await rig.browser.newPage();
    await review.goto(`${url}/manage/attempts/${id}`);
    await review.locator('[data-testid="replay"][data-state="ready"]').waitFor({ timeout: 30_000 });
    const commands = review.getByTestId('timeline-command');
    await commands.first().waitFor();
    const fromTwo = commands.filter({ hasText: 'echo two-' });
    const fromOne = commands.filter({ hasText: 'tr a-z A-Z' });
    expect(await fromTwo.getAttribute('data-terminal')).toBe('2');
    expect(await fromTwo.getByTestId('timeline-terminal').textContent()).toBe('T2');
    expect(await fromOne.getAttribute('data-terminal')).toBeNull();
    await review.getByTestId('terminal-tabs').waitFor();
    await fromTwo.click();
    await expect.poll(() => review.getByTestId('terminal-tab-2').getAttribute('aria-selected')).toBe('true');
    await review.locator('[data-testid="replay"][data-state="ready"]').waitFor({ timeout: 30_000 });
    const playerText = () => review.locator('[data-testid="replay-player"] .ap-term').innerText();
    const at = Number(await fromTwo.getAttribute('data-seconds'));
    await expect.poll(async () => Number(await review.getByTestId('replay-time').getAttribute('data-seconds'))).toBeCloseTo(at, 1);
    await expect.poll(playerText).toContain('echo two-');
    expect(await playerText()).not.toContain('one-2');
    await review.getByTestId('review-replay').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await screenshot(review, 'second-terminal-review');
    await review.getByTestId('terminal-tab-1').click();
    await fromOne.click();
    // Terminal 1's replay again: the command only it ran.
    await expect.poll(playerText).toContain('tr a-z A-Z');
    expect(await review.getByTestId('terminal-tab-1').getAttribute('aria-selected')).toBe('true');
    await review.close();
  });
});
