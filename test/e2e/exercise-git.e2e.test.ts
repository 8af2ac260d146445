// Exercises from a git repository on the invites page, in Chromium against a real server (a bare repository made
// here, served over file://; the real engine runs the self-test): the Exercises section shows the local exercise as
// from the local folder, the repository's exercise with the repository's address (no credentials) and the commit
// it was published from, and an exercise of the repository that failed validation as not published, with why.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { scaffoldExercise } from '../../server/src/cli/scaffold/scaffold.js';
import { repoRoot } from '../../server/src/paths.js';
import { requireDocker } from '../helpers/docker.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { staffSession } from '../helpers/staff.js';
import { ensureWebBuilt } from '../helpers/web-build.js';
import { launchBrowser, screenshot, type TestBrowser } from './browser.js';

describe('the Exercises section of the invites page', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-exercise-git-page-'));
  const bare = path.join(tmp, 'exercises.git');
  const work = path.join(tmp, 'work');
  const local = path.join(tmp, 'local');
  let server: TestServer | undefined;
  let browser: TestBrowser;
  let commit = '';

  beforeAll(async () => {
    await requireDocker();
    ensureWebBuilt();
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.test', ...args], { cwd: work, encoding: 'utf8' }).trim();
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    execFileSync('git', ['clone', '-q', bare, work], { stdio: 'ignore' });
    // Exercises at the repository's root this time.
    scaffoldExercise({ exercisesDir: work, id: 'repo-ports' });
    fs.mkdirSync(path.join(work, 'half-done'));
    fs.writeFileSync(path.join(work, 'half-done', 'exercise.yaml'), 'id: half-done\ntitle: Half done\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'Two exercises');
    git('push', '-q', 'origin', 'main');
    commit = git('rev-parse', 'HEAD');
    fs.mkdirSync(local);
    fs.cpSync(path.join(repoRoot(), 'test', 'fixtures', 'exercises', 'fixture-basic'), path.join(local, 'fixture-basic'), { recursive: true });
    browser = await launchBrowser();
    server = await startTestServer({
      env: { OPSLAB_EXERCISES_DIR: local, OPSLAB_EXERCISES_GIT: `file://${bare}#main`, OPSLAB_EXERCISES_GIT_SELFTEST_SEEDS: '1', OPSLAB_EXERCISES_GIT_SELFTEST_PARALLEL: '2' },
    });
    await server.services.publisher!.sync();
    const admin = await staffSession(server, 'admin', 'Ada Admin');
    const [name, ...rest] = admin.cookie.split('=');
    await browser.context.addCookies([{ name: name!, value: rest.join('='), url: server.url }]);
  }, 120_000);

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await server?.destroy();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('shows each exercise’s source, published commit and the failed publish', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await page.goto(`${server!.url}/manage/invites`);
    const section = page.getByTestId('exercise-sources');
    const published = section.locator('[data-exercise="repo-ports"]');
    await expect.poll(() => published.getByTestId('exercise-source').textContent()).toContain(`file://${bare}`);
    expect(await published.getByTestId('exercise-commit').textContent()).toBe(`commit ${commit.slice(0, 12)}`);
    expect(await section.locator('[data-exercise="fixture-basic"]').getByTestId('exercise-source').textContent()).toContain('local folder');
    const failed = section.locator('[data-exercise="half-done"]');
    expect(await failed.getByTestId('publish-failure').locator('summary').textContent()).toContain(`Not published: invalid at commit ${commit.slice(0, 12)}`);
    await failed.getByTestId('publish-failure').locator('summary').click();
    expect(await failed.getByTestId('publish-failure').textContent()).toMatch(/summary: is required/);
    expect(await section.getByTestId('exercise-repository').textContent()).toContain(`file://${bare}#main: at commit ${commit.slice(0, 12)}`);
    // The repository's exercise can be picked for an invite.
    expect(await page.getByTestId('invite-exercise').locator('option[value="repo-ports"]').count()).toBe(1);
    await screenshot(page, 'exercise-git-sources');
  });
});
