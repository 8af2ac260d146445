// Headless Chromium for page tests: Debian's chromium driven by playwright-core, one fresh profile per launch.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page, type WebSocket } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ensureWebBuilt } from '../helpers/web-build.js';

export const CHROMIUM_PATH = process.env.OPSLAB_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = path.join(repoRoot(), 'test-artifacts', 'e2e');

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The laptop screen the workspace must fit. */
export const LAPTOP_VIEWPORT = { width: 1366, height: 768 };

export interface TestBrowser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install -y chromium).`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: LAPTOP_VIEWPORT,
  });
  context.setDefaultTimeout(20_000);
  const errors: string[] = [];
  context.on('weberror', (e) => errors.push(String(e.error())));
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
      if (errors.length > 0) throw new Error(`uncaught errors in the page:\n${errors.join('\n')}`);
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** What xterm's DOM renderer shows, one string per row, trailing blanks trimmed. */
export async function terminalRows(page: Page): Promise<string[]> {
  return page.locator('[data-testid="terminal"] .xterm-rows').evaluate((rows) =>
    Array.from(rows.children, (row) => (row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()),
  );
}

export async function terminalText(page: Page): Promise<string> {
  return (await terminalRows(page)).join('\n');
}

export async function waitForTerminalText(page: Page, pattern: string | RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await terminalText(page).catch(() => '');
    if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`terminal never showed ${String(pattern)}; it shows:\n${text}`);
}

export async function waitForConnection(page: Page, state = 'connected'): Promise<void> {
  await page.locator(`[data-testid="connection-state"][data-state="${state}"]`).waitFor();
}

/** Whether keyboard input goes to the terminal (xterm's hidden textarea has the focus). */
/**
 * Tells the page its tab was switched away from (`hidden`) or back (`visible`), as a real tab switch does:
 * headless Chromium keeps every tab visible and focused (bringToFront changes neither).
 */
export async function setPageVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  await page.evaluate((value) => {
    Object.defineProperty(document, 'visibilityState', { value, configurable: true });
    Object.defineProperty(document, 'hidden', { value: value === 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

export async function terminalHasFocus(page: Page): Promise<boolean> {
  return page.evaluate(() => document.activeElement?.classList.contains('xterm-helper-textarea') ?? false);
}

export interface FrameLog {
  /** Text frames the page sent, parsed. */
  sent: Record<string, unknown>[];
  /** Binary bytes the page received. */
  receivedBytes: number;
  /** The terminal sockets the page opened. */
  sockets: WebSocket[];
}

/** Records the terminal WebSocket traffic of a page (flow control and resize are checked from it). */
export function recordTerminalFrames(page: Page): FrameLog {
  const log: FrameLog = { sent: [], receivedBytes: 0, sockets: [] };
  page.on('websocket', (ws) => {
    if (!ws.url().endsWith('/terminal')) return;
    log.sockets.push(ws);
    ws.on('framesent', ({ payload }) => {
      if (typeof payload !== 'string') return;
      try {
        log.sent.push(JSON.parse(payload) as Record<string, unknown>);
      } catch {
        // Text frames are always JSON; anything else is caught by the assertions on `sent`.
      }
    });
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string') log.receivedBytes += payload.length;
    });
  });
  return log;
}

/** Gives the browser an attempt's credential as the start would have set it: the `opslab_attempt_<id>` cookie. */
export async function holdAttempt(browser: TestBrowser, attemptId: string, token: string): Promise<void> {
  await browser.context.addCookies([
    { name: `opslab_attempt_${attemptId}`, value: token, domain: '127.0.0.1', path: `/api/attempts/${attemptId}`, httpOnly: true, sameSite: 'Strict' },
  ]);
}

/** Starts the first exercise from the catalog and waits for its terminal to connect; returns the attempt URL. */
export async function startFirstExercise(page: Page, baseUrl: string): Promise<string> {
  await page.goto(`${baseUrl}/`);
  await page.getByTestId('exercise-card').first().waitFor();
  await page.getByTestId('start-button').first().click();
  await page.waitForURL(/\/attempts\/[^/]+$/, { timeout: 60_000 });
  await waitForConnection(page);
  // The shell prints its prompt once the sandbox is attached.
  await waitForTerminalText(page, /[#$] ?$/m);
  return page.url();
}

/**
 * A real server (real Docker engine) and a headless Chromium for one test file: started before its tests,
 * closed after them. Read them through the returned object once the tests run.
 */
export function pageRig(opts: Parameters<typeof startTestServer>[0] = {}): { readonly server: TestServer; readonly browser: TestBrowser } {
  let server: TestServer | undefined;
  let browser: TestBrowser | undefined;
  beforeAll(async () => {
    // The global setup builds it too; this keeps each file runnable on its own.
    ensureWebBuilt();
    server = await startTestServer(opts);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await server?.destroy();
    }
  });
  return {
    get server() {
      if (!server) throw new Error('the server starts in beforeAll');
      return server;
    },
    get browser() {
      if (!browser) throw new Error('the browser starts in beforeAll');
      return browser;
    },
  };
}
