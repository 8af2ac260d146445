// An invite pins the exercise version it was made with (real server, engine and SQLite file; a temporary copy of a
// fixture exercise as the exercises directory): the exercise is edited (instructions, a workspace file, a check
// the same answer now fails) and the server restarted on the same data; the invite's candidate still gets the old
// instructions and files and is graded by the old check, a new invite gets the new version, the review and the CSV
// show both, a regrade runs the current check on purpose, an exercise removed from the catalog still serves the
// invites that pinned it, and a pinned version whose stored copy is gone is refused with a clear error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseVersionText } from '../../contract/review.js';
import { shortVersion } from '../../contract/invites.js';
import { EXERCISE_VERSIONS_DIR } from '../../server/src/exercises/versions.js';
import { repoRoot } from '../../server/src/paths.js';
import { parseCsv } from '../../server/src/review/csv.js';
import { api, attemptCookieToken, request } from '../helpers/api.js';
import { requireDocker } from '../helpers/docker.js';
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';

const FIXTURE = path.join(repoRoot(), 'test', 'fixtures', 'exercises', 'fixture-basic');
const ID = 'fixture-basic';

describe('exercise version pinning (real server, engine and SQLite, restarts on the same data)', () => {
  let exercisesDir: string;
  let dataDir: string;
  let server: TestServer | undefined;
  let admin: StaffSession;

  const start = async () => {
    server = await startTestServer({ dataDir, env: { OPSLAB_EXERCISES_DIR: exercisesDir } });
    admin = await staffSession(server, 'admin');
  };
  const restart = async () => {
    await server!.close();
    server = undefined;
    await start();
  };
  const staff = (method: string, url: string, body?: unknown) => request(server!.url, method, url, admin.headers, body);
  const currentVersion = async (): Promise<string | undefined> => {
    const res = await staff('GET', '/api/manage/exercises');
    expect(res.status, res.text).toBe(200);
    return (res.body.exercises as { id: string; version: string }[]).find((e) => e.id === ID)?.version;
  };
  const invite = async (candidateName: string) => {
    const res = await staff('POST', '/api/manage/invites', { exerciseId: ID, candidateName, candidateEmail: 'c@example.test', showFeedback: true });
    expect(res.status, res.text).toBe(201);
    return { id: res.body.invite.id as string, version: res.body.invite.exerciseVersion as string, token: new URL(res.body.invite.link).hash.slice(1) };
  };
  const inviteView = async (id: string) => {
    const res = await staff('GET', '/api/manage/invites');
    return (res.body.invites as { id: string }[]).find((i) => i.id === id) as Record<string, unknown>;
  };
  const claim = async (token: string) => {
    const res = await api(server!.url, 'POST', '/api/invite/start', token);
    expect(res.status, res.text).toBe(201);
    const id: string = res.body.attempt.id;
    return { id, token: attemptCookieToken(res.headers, id) };
  };
  /** Runs a command in the attempt's sandbox through the server's engine driver. */
  const inSandbox = async (attemptId: string, script: string) => {
    const sandboxId = (await server!.services.attempts.get(attemptId))!.sandboxId!;
    const r = await server!.services.driver.exec(sandboxId, ['sh', '-c', script], { timeoutMs: 30_000, maxOutputBytes: 64 * 1024 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    return r.stdout;
  };
  const instructions = async (attempt: { id: string; token: string }) => {
    const res = await api(server!.url, 'GET', `/api/attempts/${attempt.id}/exercise`, attempt.token);
    expect(res.status, res.text).toBe(200);
    return res.body.exercise.instructions as string;
  };
  const csvRecords = async () => {
    const res = await staff('GET', '/api/manage/attempts/export.csv');
    expect(res.status, res.text).toBe(200);
    const [header, ...rows] = parseCsv(res.text);
    return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
  };

  beforeAll(async () => {
    await requireDocker();
    exercisesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-pinning-exercises-'));
    fs.cpSync(FIXTURE, path.join(exercisesDir, ID), { recursive: true });
    dataDir = tempDataDir();
    await start();
  }, 60_000);

  afterAll(async () => {
    await server?.destroy();
    fs.rmSync(exercisesDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('gives an invite the version it was made with, after edits and restarts; new invites get the new one', async () => {
    const v1 = (await currentVersion())!;
    expect(v1).toMatch(/^[0-9a-f]{64}$/);
    const old = await invite('Olga Old');
    expect(old.version).toBe(v1);
    expect(await inviteView(old.id)).toMatchObject({ exerciseVersion: v1, exerciseVersionStatus: 'current' });
    const lost = await invite('Lou Lost');

    // The hiring team edits the exercise: the instructions, a workspace file, and a check the same answer now fails.
    const dir = path.join(exercisesDir, ID);
    fs.writeFileSync(path.join(dir, 'README.md'), '# Fixture, second edition\n\nSet `mode = staging` in `app.conf` now.\n');
    fs.writeFileSync(path.join(dir, 'workspace', 'app.conf'), 'port = 9090\nmode = debug\n');
    fs.writeFileSync(
      path.join(dir, 'checks', 'mode-production'),
      '#!/bin/sh\ngrep -qx "mode = staging" "$WORKSPACE/app.conf" && exit 0\necho "app.conf does not run in staging mode."\nexit 1\n',
      { mode: 0o755 },
    );
    await restart();
    const v2 = (await currentVersion())!;
    expect(v2).not.toBe(v1);
    expect(await inviteView(old.id)).toMatchObject({ exerciseVersion: v1, exerciseVersionStatus: 'older' });

    // The old invite's candidate: the old instructions and workspace file, graded by the old check.
    const a = await claim(old.token);
    expect((await server!.services.attempts.get(a.id))!.exerciseVersion).toBe(v1);
    expect(await instructions(a)).toContain('`mode = production`');
    expect(await instructions(a)).not.toContain('second edition');
    expect(await inSandbox(a.id, 'cat /root/work/app.conf')).toBe('port = 8080\nmode = debug\n');
    const color = (await server!.services.attempts.get(a.id))!.params.color!;
    await inSandbox(a.id, `cd /root/work && sed -i 's/^mode = .*/mode = production/' app.conf && sed -i 's/^color=.*/color=${color}/' settings.ini`);
    const submitted = await api(server!.url, 'POST', `/api/attempts/${a.id}/submit`, a.token);
    expect(submitted.status, submitted.text).toBe(200);

    let review = await staff('GET', `/api/manage/attempts/${a.id}`);
    expect(review.status, review.text).toBe(200);
    expect(review.body.exercise).toMatchObject({ version: v2, takenVersion: v1 });
    expect(review.body.grading.checks.map((c: { id: string; verdict: string }) => [c.id, c.verdict])).toEqual([
      ['color-set', 'pass'],
      ['mode-production', 'pass'],
      ['workspace-intact', 'pass'],
    ]);
    expect(review.body.gradings.map((g: { exerciseVersion: string }) => g.exerciseVersion)).toEqual([v1]);
    expect(exerciseVersionText(review.body)).toBe(`${shortVersion(v1)} · the exercise changed since (current ${shortVersion(v2)})`);
    let row = (await csvRecords()).find((r) => r['attempt id'] === a.id)!;
    expect(row).toMatchObject({ 'exercise version': shortVersion(v1), 'exercise version taken': shortVersion(v1), score: '16' });

    // A regrade runs the current checks on purpose (how a broken check gets fixed), and says which version it ran:
    // the new check fails the same answer.
    const regraded = await staff('POST', `/api/manage/attempts/${a.id}/regrade`);
    expect(regraded.status, regraded.text).toBe(200);
    review = await staff('GET', `/api/manage/attempts/${a.id}`);
    expect(review.body.gradings.map((g: { exerciseVersion: string }) => g.exerciseVersion)).toEqual([v1, v2]);
    expect(review.body.grading.checks.find((c: { id: string }) => c.id === 'mode-production').verdict).toBe('fail');
    expect(exerciseVersionText(review.body)).toBe(
      `${shortVersion(v1)} · the exercise changed since (current ${shortVersion(v2)}) · graded with version ${shortVersion(v2)}, not the one taken`,
    );
    row = (await csvRecords()).find((r) => r['attempt id'] === a.id)!;
    expect(row).toMatchObject({ 'exercise version': shortVersion(v2), 'exercise version taken': shortVersion(v1), score: '11' });

    // A new invite gets the new version: its instructions and files.
    const fresh = await invite('Nina New');
    expect(fresh.version).toBe(v2);
    const b = await claim(fresh.token);
    expect(await instructions(b)).toContain('second edition');
    expect(await inSandbox(b.id, 'cat /root/work/app.conf')).toBe('port = 9090\nmode = debug\n');
    const pendingOnV2 = await invite('Rita Removed');

    // The exercise leaves the catalog and the first version's stored copy is lost; the server restarts.
    fs.rmSync(dir, { recursive: true });
    fs.rmSync(path.join(dataDir, EXERCISE_VERSIONS_DIR, ID, v1), { recursive: true });
    await restart();
    expect(await currentVersion()).toBeUndefined();

    // The invite pinned to the lost version is refused with a clear error, and never given another version.
    expect(await inviteView(lost.id)).toMatchObject({ exerciseVersion: v1, exerciseVersionStatus: 'missing' });
    const landing = await api(server!.url, 'GET', '/api/invite', lost.token);
    expect(landing.status).toBe(409);
    expect(landing.body.error.code).toBe('OPSLAB_ERR_EXERCISE_VERSION_MISSING');
    const refused = await api(server!.url, 'POST', '/api/invite/start', lost.token);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('OPSLAB_ERR_EXERCISE_VERSION_MISSING');
    expect(refused.body.error.message).toContain(`(${shortVersion(v1)}) is no longer stored on this server`);
    expect(await inviteView(lost.id)).toMatchObject({ attemptId: null, status: 'pending' });

    // The invite pinned to a version still stored works, though the exercise is no longer in the catalog.
    expect(await inviteView(pendingOnV2.id)).toMatchObject({ exerciseTitle: 'Fixture exercise for the grader tests', exerciseVersionStatus: 'older' });
    const c = await claim(pendingOnV2.token);
    expect(await instructions(c)).toContain('second edition');
    expect(await inSandbox(c.id, 'cat /root/work/app.conf')).toBe('port = 9090\nmode = debug\n');
    const ended = await api(server!.url, 'POST', `/api/attempts/${c.id}/submit`, c.token);
    expect(ended.status, ended.text).toBe(200);
    review = await staff('GET', `/api/manage/attempts/${c.id}`);
    expect(review.body.gradings.map((g: { exerciseVersion: string }) => g.exerciseVersion)).toEqual([v2]);
    expect(exerciseVersionText(review.body)).toBe(`${shortVersion(v2)} · the exercise is no longer in the catalog`);
  }, 240_000);
});
