// The offline HTML report opened from disk in Chromium with every non-file request aborted: the replay plays
// the embedded recording, a click on a command moves it to that command, checks and diff are readable, hostile
// text stays text, and the page asks for nothing over the network.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { renderExportHtml } from '../../server/src/review/export-html.js';
import { fixtureExportData, HOSTILE_IMG, HOSTILE_SCRIPT } from '../fixtures/review/export-data.js';
import { launchBrowser, screenshot, type TestBrowser } from './browser.js';

describe('HTML export, offline', () => {
  let browser: TestBrowser;
  let dir: string;
  const network: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-export-'));
    browser = await launchBrowser();
    browser.context.on('request', (request) => {
      if (!request.url().startsWith('file:')) network.push(request.url());
    });
    await browser.context.route('**', (route) =>
      route.request().url().startsWith('file:') ? route.continue() : route.abort(),
    );
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function seconds(page: Page): Promise<number> {
    return Number(await page.getByTestId('export-time').getAttribute('data-seconds'));
  }

  async function playerText(page: Page): Promise<string> {
    return page.locator('#replay .ap-term').innerText();
  }

  test('plays, seeks from the command list and shows the grade, checks and diff', async () => {
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, renderExportHtml(fixtureExportData()));
    const page = await browser.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const consoleErrors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    await page.goto(pathToFileURL(file).href);

    // The player renders the recording at its first frame.
    const term = page.locator('#replay .ap-term');
    await term.waitFor();
    const box = await term.boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    expect(box!.height).toBeGreaterThan(100);
    expect(await seconds(page)).toBe(0);

    // A command: the replay moves to it and shows the terminal as it was then (the ls output, not yet the cat).
    const commands = page.getByTestId('export-command');
    expect(await commands.count()).toBe(3);
    await commands.nth(1).click();
    await expect.poll(() => seconds(page)).toBeCloseTo(30, 1);
    await expect.poll(() => playerText(page)).toContain('notes.txt');
    expect(await playerText(page)).not.toContain('alert(2)');
    expect(await commands.nth(1).getAttribute('aria-current')).toBe('true');

    // Later, past an idle pause the player shortens: the mapping still lands on the command.
    await commands.nth(2).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => seconds(page)).toBeCloseTo(90, 1);
    await expect.poll(() => playerText(page)).toContain(HOSTILE_IMG);
    expect(await playerText(page)).not.toContain('finished');
    // Hostile output is terminal text, not markup.
    expect(await playerText(page)).toContain(HOSTILE_SCRIPT);

    // Back to the start of the recording, then the speed changes without losing the place.
    await commands.nth(0).click();
    await expect.poll(() => seconds(page)).toBeCloseTo(2, 1);
    await page.locator('#replay-speed').selectOption('4');
    await expect.poll(() => seconds(page)).toBeCloseTo(2, 1);

    // Grade, checks (three verdicts, told apart by words, and an advisory check awaiting review) and the diff.
    await expect(page.getByTestId('export-score').innerText()).resolves.toContain('5/8');
    expect(await page.getByTestId('export-pending').innerText()).toBe('+4 awaiting review');
    const checks = page.getByTestId('export-check');
    expect(await checks.count()).toBe(4);
    expect(await checks.nth(3).innerText()).toContain('advisory: not counted until confirmed');
    expect(await checks.nth(0).innerText()).toContain('Pass');
    expect(await checks.nth(1).innerText()).toContain('Fail');
    expect(await checks.nth(2).innerText()).toContain('Error (not counted)');
    expect(await page.getByTestId('export-diff').isVisible()).toBe(true);
    expect(await page.locator('.d-add').first().innerText()).toBe('+done');
    expect(await page.getByTestId('export-changed').innerText()).toContain(`/root/work/${HOSTILE_SCRIPT}`);
    expect(await page.locator('img, iframe').count()).toBe(0);

    // Signals: the summary, and each fact moves the replay to its moment; a hostile file name stays text.
    expect(await page.getByTestId('export-signal-pastes').innerText()).toBe('1 (1,240 characters)');
    expect(await page.getByTestId('export-signal-away').innerText()).toBe('20 s (1×)');
    const signals = page.getByTestId('export-signal');
    expect(await signals.allInnerTexts()).toEqual([
      expect.stringContaining('tab hidden for 20 s'),
      expect.stringContaining(`uploaded /root/work/${HOSTILE_IMG} (2.0 KiB)`),
      expect.stringContaining('pasted 1,240 characters into the terminal'),
    ]);
    await signals.nth(2).locator('button').click();
    await expect.poll(() => seconds(page)).toBeCloseTo(31, 1);

    await page.getByTestId('export-section-replay').scrollIntoViewIfNeeded();
    await screenshot(page, 'export');

    expect(dialogs).toEqual([]);
    expect(network).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});
