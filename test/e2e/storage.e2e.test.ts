// The catalog page when the server's storage has no room for new practice attempts: the start is refused with a
// message that says why, and nothing starts.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDataDir } from '../helpers/server.js';
import { pageRig, screenshot } from './browser.js';

const dataDir = tempDataDir();
fs.mkdirSync(path.join(dataDir, 'recordings'), { recursive: true });
fs.writeFileSync(path.join(dataDir, 'recordings', 'a_earlier.cast'), Buffer.alloc(40 * 1024 * 1024, 'x'));

describe('practice start past the data budget', () => {
  // 40 MB kept against a 64 MB budget, 32 MB of it reserved for interviews.
  const rig = pageRig({ dataDir, env: { OPSLAB_DATA_MAX_MB: '64', OPSLAB_DATA_INTERVIEW_RESERVE_MB: '32' } });

  test('Start shows that the storage is full, and the catalog stays', async () => {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/`);
    const card = page.locator('[data-testid="exercise-card"][data-exercise-id="shell-warmup"]');
    await card.getByTestId('start-button').click();
    const error = page.getByTestId('start-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/no room left for new practice attempts/);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await card.getByTestId('start-button').isEnabled()).toBe(true);
    await screenshot(page, 'practice-storage-full');
    await page.close();
  });
});
