// Exercise versions in Chromium against a real server restarted on the same data (a temporary copy of a fixture
// exercise as the exercises directory): an invite made before an edit of the exercise shows its version on the
// invites page as older than the current one; its candidate's workspace shows the old instructions; the review
// page says which version the candidate took, that the exercise changed since, and, after a regrade with the
// current checks, which version each grading ran.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { shortVersion } from '../../contract/invites.js';
import { EXERCISE_VERSIONS_DIR } from '../../server/src/exercises/versions.js';
import { repoRoot } from '../../server/src/paths.js';
import { api, request } from '../helpers/api.js';
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { ensureWebBuilt } from '../helpers/web-build.js';
import { launchBrowser, screenshot, waitForConnection, type TestBrowser } from './browser.js';

const ID = 'fixture-basic';

describe('exercise versions on the staff and candidate pages', () => {
  let exercisesDir: string;
  let dataDir: string;
  let server: TestServer | undefined;
  let browser: TestBrowser;
  let admin: StaffSession;

  const start = async () => {
    server = await startTestServer({ dataDir, env: { OPSLAB_EXERCISES_DIR: exercisesDir } });
    admin = await staffSession(server, 'admin', 'Ada Admin');
    const [name, ...rest] = admin.cookie.split('=');
    await browser.context.addCookies([{ name: name!, value: rest.join('='), url: server.url }]);
  };
  const staff = (method: string, url: string, body?: unknown) => request(server!.url, method, url, admin.headers, body);
  const version = async () =>
    ((await staff('GET', '/api/manage/exercises')).body.exercises as { id: string; version: string }[]).find((e) => e.id === ID)!.version;

  beforeAll(async () => {
    ensureWebBuilt();
    exercisesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-version-pages-'));
    fs.cpSync(path.join(repoRoot(), 'test', 'fixtures', 'exercises', ID), path.join(exercisesDir, ID), { recursive: true });
    dataDir = tempDataDir();
    browser = await launchBrowser();
    await start();
  }, 60_000);

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await server?.destroy();
      fs.rmSync(exercisesDir, { recursive: true, force: true });
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('the invites page, the candidate workspace and the review show the versions', { timeout: 180_000 }, async () => {
    const v1 = await version();
    const created = await staff('POST', '/api/manage/invites', { exerciseId: ID, candidateName: 'Olga Old', candidateEmail: 'olga@example.test', showFeedback: true });
    expect(created.status, created.text).toBe(201);
    const link: string = created.body.invite.link;
    const lost = await staff('POST', '/api/manage/invites', { exerciseId: ID, candidateName: 'Lou Lost', candidateEmail: 'lou@example.test', showFeedback: true });
    expect(lost.status, lost.text).toBe(201);

    // The exercise changes (instructions and a check), and the server restarts on the same data.
    const dir = path.join(exercisesDir, ID);
    fs.writeFileSync(path.join(dir, 'README.md'), '# Fixture, second edition\n\nSet `mode = staging` in `app.conf` now.\n');
    fs.writeFileSync(path.join(dir, 'checks', 'workspace-intact'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    await server!.close();
    await start();
    const v2 = await version();
    expect(v2).not.toBe(v1);

    const page = await browser.newPage();
    await page.goto(`${server!.url}/manage/invites`);
    const row = page.getByTestId('invite-row').filter({ hasText: 'Olga Old' });
    expect(await row.getByTestId('invite-version').textContent()).toBe(`version ${shortVersion(v1)} · older than the current one`);
    expect(await row.getByTestId('invite-version').getAttribute('title')).toBe(v1);

    // The candidate starts from the link: the workspace shows the instructions of the version the invite pinned.
    const candidate = await browser.newPage();
    await candidate.goto(`${server!.url}${new URL(link).pathname}${new URL(link).hash}`);
    await candidate.getByTestId('invite-start').click();
    await candidate.waitForURL(/\/attempts\/[^/]+$/, { timeout: 60_000 });
    await waitForConnection(candidate);
    const instructions = candidate.getByTestId('instructions');
    await instructions.getByText('mode = production').first().waitFor();
    expect(await instructions.textContent()).not.toContain('second edition');
    const attemptId = candidate.url().split('/').pop()!;
    const cookie = (await browser.context.cookies(server!.url + `/api/attempts/${attemptId}`)).find((c) => c.name === `opslab_attempt_${attemptId}`)!;
    expect((await api(server!.url, 'POST', `/api/attempts/${attemptId}/submit`, cookie.value)).status).toBe(200);
    await candidate.close();

    // The review: the version taken, the current one, and after a regrade which version each grading ran.
    expect((await staff('POST', `/api/manage/attempts/${attemptId}/regrade`)).status).toBe(200);
    await page.goto(`${server!.url}/manage/attempts/${attemptId}`);
    const meta = page.getByTestId('review-exercise-version');
    await meta.waitFor();
    expect(await meta.textContent()).toBe(
      `${shortVersion(v1)} · the exercise changed since (current ${shortVersion(v2)}) · graded with version ${shortVersion(v2)}, not the one taken`,
    );
    const entries = await page.getByTestId('grading-entry').allTextContents();
    expect(entries).toHaveLength(2);
    expect(entries[0]).toContain(`checks version ${shortVersion(v1)} (not the current one)`);
    expect(entries[1]).toContain(`checks version ${shortVersion(v2)} (not the version the candidate took)`);
    await screenshot(page, 'review-exercise-versions');

    // The first version's stored copy is lost: the invite that pinned it says so at once, and offers no Start.
    fs.rmSync(path.join(dataDir, EXERCISE_VERSIONS_DIR, ID, v1), { recursive: true });
    // The review page's open requests would hold the server's shutdown.
    await page.goto('about:blank');
    await server!.close();
    await start();
    await page.goto(`${server!.url}/manage/invites`);
    const lostRow = page.getByTestId('invite-row').filter({ hasText: 'Lou Lost' });
    expect(await lostRow.getByTestId('invite-version').textContent()).toBe(`version ${shortVersion(v1)} · its stored copy is gone: the invite cannot start`);
    const landing = await browser.newPage();
    const url = new URL(lost.body.invite.link as string);
    await landing.goto(`${server!.url}${url.pathname}${url.hash}`);
    const gone = landing.getByTestId('invite-gone');
    await gone.waitFor();
    expect(await gone.getAttribute('data-kind')).toBe('version-missing');
    expect(await gone.textContent()).toContain('This invitation cannot be started');
    expect(await landing.getByTestId('invite-start').count()).toBe(0);
    await screenshot(landing, 'invite-version-missing');
  });
});
