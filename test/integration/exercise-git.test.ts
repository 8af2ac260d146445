// Exercises from a git repository (OPSLAB_EXERCISES_GIT), with a real bare repository served over file://, the real
// engine and a real SQLite file: the scaffold's exercise is published with its commit once its self-test passed; a
// pushed commit that breaks it (a check that no longer fails on the untouched sandbox) is not published, the old
// version stays current and the failure is shown; an invite made before a good change keeps the old version, a new
// invite gets the new one; an id in both the local folder and the repository is refused naming both; after a restart
// with the remote gone, the published version is still served and the fetch error shown.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaffoldExercise } from '../../server/src/cli/scaffold/scaffold.js';
import { repoRoot } from '../../server/src/paths.js';
import { api, attemptCookieToken, request } from '../helpers/api.js';
import { requireDocker } from '../helpers/docker.js';
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';

const ID = 'git-ports';

interface Listed {
  id: string;
  version: string;
  source: { kind: string; location: string; commit?: string };
  lastFailure?: { commit: string; stage: string; problems: string[]; version: string };
}

describe('exercises from a git repository (real git, engine and SQLite)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-exercise-git-'));
  const bare = path.join(tmp, 'team-exercises.git');
  const work = path.join(tmp, 'work');
  const local = path.join(tmp, 'local');
  let dataDir: string;
  let server: TestServer | undefined;
  let admin: StaffSession;
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Hiring Team', '-c', 'user.email=team@example.test', ...args], { cwd: work, encoding: 'utf8' }).trim();
  const push = (message: string) => {
    git('add', '-A');
    git('commit', '-q', '-m', message);
    git('push', '-q', 'origin', 'main');
    return git('rev-parse', 'HEAD');
  };
  const check = path.join(work, 'exercises', ID, 'checks', 'service-enabled');
  const staff = (method: string, url: string, body?: unknown) => request(server!.url, method, url, admin.headers, body);
  const listing = async () => {
    const res = await staff('GET', '/api/manage/exercises');
    expect(res.status, res.text).toBe(200);
    return res.body as { exercises: Listed[]; repositories: { source: string; commit: string | null; error: string | null }[]; unpublished: Listed['lastFailure'][] & { exerciseId: string }[] };
  };
  const mine = async () => (await listing()).exercises.find((e) => e.id === ID);
  const invite = async (candidateName: string) => {
    const res = await staff('POST', '/api/manage/invites', { exerciseId: ID, candidateName, candidateEmail: 'c@example.test', showFeedback: true });
    expect(res.status, res.text).toBe(201);
    return { id: res.body.invite.id as string, version: res.body.invite.exerciseVersion as string, token: new URL(res.body.invite.link).hash.slice(1) };
  };
  const start = async () => {
    server = await startTestServer({
      dataDir,
      env: {
        OPSLAB_EXERCISES_DIR: local,
        OPSLAB_EXERCISES_GIT: `file://${bare}`,
        OPSLAB_EXERCISES_GIT_INTERVAL_SECONDS: '0',
        OPSLAB_EXERCISES_GIT_SELFTEST_SEEDS: '1',
        OPSLAB_EXERCISES_GIT_SELFTEST_PARALLEL: '2',
      },
    });
    admin = await staffSession(server, 'admin');
  };

  beforeAll(async () => {
    await requireDocker();
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    execFileSync('git', ['clone', '-q', bare, work], { stdio: 'ignore' });
    fs.mkdirSync(path.join(work, 'exercises'));
    scaffoldExercise({ exercisesDir: path.join(work, 'exercises'), id: ID });
    // The same id as an exercise of the local folder: refused from the repository, naming both.
    fs.cpSync(path.join(repoRoot(), 'test', 'fixtures', 'exercises', 'fixture-basic'), path.join(work, 'exercises', 'fixture-basic'), { recursive: true });
    fs.mkdirSync(local);
    fs.cpSync(path.join(repoRoot(), 'test', 'fixtures', 'exercises', 'fixture-basic'), path.join(local, 'fixture-basic'), { recursive: true });
    push('Ports exercise');
    dataDir = tempDataDir();
    await start();
  }, 60_000);

  afterAll(async () => {
    await server?.destroy();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('publishes a commit only after its self-test passed; a broken one leaves the old version live; invites keep theirs', async () => {
    const c1 = git('rev-parse', 'HEAD');
    await server!.services.publisher!.sync();
    const first = await mine();
    expect(first, JSON.stringify(await listing())).toBeDefined();
    expect(first!.source).toMatchObject({ kind: 'git', location: `file://${bare}`, commit: c1 });
    expect(first!.lastFailure).toBeUndefined();
    const v1 = first!.version;
    const listed = await listing();
    expect(listed.repositories).toEqual([expect.objectContaining({ source: `file://${bare}`, commit: c1, error: null })]);
    // The local folder keeps its fixture-basic; the repository's is refused, naming both.
    const localOne = listed.exercises.find((e) => e.id === 'fixture-basic')!;
    expect(localOne.source).toEqual({ kind: 'local', location: local });
    const conflict = localOne.lastFailure!;
    expect(conflict).toMatchObject({ stage: 'conflict', commit: c1 });
    expect(conflict.problems[0]).toContain(local);
    expect(conflict.problems[0]).toContain(`file://${bare}`);
    const before = await invite('Bea Before');
    expect(before.version).toBe(v1);

    // A check that passes on the untouched sandbox: the self-test fails, v1 stays current, the failure is shown.
    fs.writeFileSync(check, '#!/usr/bin/env bash\necho "The service is enabled."\nexit 0\n', { mode: 0o755 });
    const c2 = push('service-enabled: simpler');
    await server!.services.publisher!.sync();
    const broken = await mine();
    expect(broken!.version).toBe(v1);
    expect(broken!.source.commit).toBe(c1);
    expect(broken!.lastFailure).toMatchObject({ commit: c2, stage: 'self-test' });
    expect(broken!.lastFailure!.problems.join('\n')).toMatch(/untouched: check service-enabled: expected fail, got pass/);
    expect((await invite('Dan During')).version).toBe(v1);
    // The same content in a later commit (only the repository's own README changed) is not self-tested again.
    const failedAt = broken!.lastFailure;
    fs.writeFileSync(path.join(work, 'README.md'), 'Our exercises.\n');
    const unrelated = push('README');
    await server!.services.publisher!.sync();
    expect((await listing()).repositories[0]!.commit).toBe(unrelated);
    expect((await mine())!.lastFailure).toEqual(failedAt);

    // A good commit: the check restored, the instructions changed. Published; new invites get it, old ones keep v1.
    git('checkout', '-q', c1, '--', `exercises/${ID}/checks/service-enabled`);
    fs.appendFileSync(path.join(work, 'exercises', ID, 'README.md'), '\nSecond edition of the instructions.\n');
    const c3 = push('Instructions: second edition');
    await server!.services.publisher!.sync();
    const good = await mine();
    expect(good!.source.commit).toBe(c3);
    expect(good!.version).not.toBe(v1);
    expect(good!.lastFailure).toBeUndefined();
    expect((await invite('Nina New')).version).toBe(good!.version);
    const res = await api(server!.url, 'POST', '/api/invite/start', before.token);
    expect(res.status, res.text).toBe(201);
    expect((await server!.services.attempts.get(res.body.attempt.id))!.exerciseVersion).toBe(v1);
    const attemptId: string = res.body.attempt.id;
    const shown = await api(server!.url, 'GET', `/api/attempts/${attemptId}/exercise`, attemptCookieToken(res.headers, attemptId));
    expect(shown.status, shown.text).toBe(200);
    expect(shown.body.exercise.instructions).not.toContain('Second edition');
  }, 150_000);

  it('serves the published version after a restart while the remote is down, and shows the fetch error', async () => {
    const published = (await mine())!;
    expect(server!.services.catalog.store!.has(ID, published.version)).toBe(true);
    await server!.close();
    server = undefined;
    fs.renameSync(bare, `${bare}.gone`);
    await start();
    await server!.services.publisher!.sync();
    const after = await listing();
    expect(after.exercises.find((e) => e.id === ID)).toMatchObject({ version: published.version, source: published.source });
    expect(after.repositories[0]!.error).toMatch(/team-exercises\.git/);
    fs.renameSync(`${bare}.gone`, bare);
  }, 60_000);
});
