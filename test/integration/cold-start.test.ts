// A cold start answers once the sandbox runs; the exercise's files are copied in and the initial snapshot taken
// while the shell prints its first prompt. Whatever the candidate does as soon as the start answered (typing at
// once, reading the file tree) happens after both: the initial snapshot is the provisioned workspace, and the diff
// at the end shows the candidate's changes. And provisioning's one archive call makes only the directories that are
// missing, leaving existing ones (and their modes) as they are.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { loadExercise, type Exercise } from '../../server/src/exercises/catalog.js';
import { EXERCISE_COPY_DIR, ProvisionError, provisionExercise } from '../../server/src/exercises/provision.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { effectiveLimits } from '../../server/src/sandbox/policy.js';
import { api, startAttempt } from '../helpers/api.js';
import { requireDocker, testLabels } from '../helpers/docker.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestTerminal } from '../helpers/terminal-client.js';
import { readTarEntries } from '../helpers/tar.js';

const WORKSPACE = { 'answer.txt': 'todo\n', 'notes/plan.md': '# plan\n', 'notes/deep/keep.txt': 'keep\n' };

/** An exercise without a setup script, its workspace a few files in folders. */
function writeExercise(root: string, id: string, yaml: string[] = [], setup?: string): string {
  const dir = path.join(root, id);
  fs.mkdirSync(path.join(dir, 'checks'), { recursive: true });
  for (const [rel, text] of Object.entries(WORKSPACE)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'workspace', rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'workspace', rel), text);
  }
  fs.writeFileSync(
    path.join(dir, 'exercise.yaml'),
    [`id: ${id}`, `title: ${id}`, 'summary: Change the answer.', 'difficulty: easy', 'timeLimitMinutes: 10', 'image: base', ...yaml, ''].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'README.md'), 'Change the answer.\n');
  if (setup) fs.writeFileSync(path.join(dir, 'setup'), setup, { mode: 0o755 });
  return dir;
}

/** The files of a snapshot tar: name → content. */
async function filesOf(tar: Buffer): Promise<Record<string, string>> {
  return Object.fromEntries((await readTarEntries(tar)).filter((e) => e.type === 'file').map((e) => [e.name, e.body.toString('utf8')]));
}

describe('cold start (real server, real engine)', () => {
  let exercises: string;
  let server: TestServer;

  beforeAll(async () => {
    await requireDocker();
    exercises = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-cold-exercises-'));
    writeExercise(exercises, 'cold-demo');
    server = await startTestServer({ env: { OPSLAB_EXERCISES_DIR: exercises } });
  });
  afterAll(async () => {
    await server?.destroy();
    fs.rmSync(exercises, { recursive: true, force: true });
  });

  it('takes the initial snapshot of the provisioned workspace, though the candidate types the moment the start answers', async () => {
    const { attempt, token } = await startAttempt(server.url, 'cold-demo');
    expect(attempt).toMatchObject({ state: 'running', sandbox: 'provisioning' });
    // At once, with no wait for the prompt: a command that changes every file, and the editor's file tree.
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    term.type('echo 42 > /root/work/answer.txt; rm -r /root/work/notes; touch /root/work/new.txt; echo DONE-$((6*7))\r');
    const tree = await api(server.url, 'GET', `/api/attempts/${attempt.id}/files`, token);
    expect(tree.status).toBe(200);
    const listed = (tree.body as { entries: { path: string }[] }).entries.map((e) => e.path);
    // Never an empty workspace: the tree waited for the files (the typed command may have run by then, too).
    expect(listed).toContain('/root/work/answer.txt');
    await term.waitFor(() => term.text.includes('DONE-42'), 30_000);
    // Told once the files were in place (at the connection, or when it happened).
    const views = term.controls.filter((c) => c.type === 'hello' || c.type === 'attempt').map((c) => (c.attempt as { sandbox: string }).sandbox);
    expect(views.at(-1)).toBe('running');
    term.close();

    const initial = server.services.attempts.snapshotDiff(attempt.id);
    expect(initial).toBeNull(); // no diff before the end
    const file = path.join(server.dataDir, 'snapshots', attempt.id, 'initial.tar');
    const files = await filesOf(fs.readFileSync(file));
    expect(files).toEqual(Object.fromEntries(Object.entries(WORKSPACE).map(([rel, text]) => [`root/work/${rel}`, text])));

    const res = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    expect(res.status).toBe(200);
    const changed = server.services.attempts.snapshotDiff(attempt.id)!.changed;
    expect(changed).toEqual(
      expect.arrayContaining([
        { path: '/root/work/answer.txt', change: 'modified' },
        { path: '/root/work/notes/plan.md', change: 'removed' },
        { path: '/root/work/notes/deep/keep.txt', change: 'removed' },
        { path: '/root/work/new.txt', change: 'added' },
      ]),
    );
    // The shell got the keystrokes in order, after the files were in place: the recording shows them as typed.
    const recording = fs.readFileSync(server.services.attempts.recordingFile((await server.services.attempts.get(attempt.id))!), 'utf8');
    expect(recording).toContain('echo 42 > /root/work/answer.txt');
  }, 120_000);
});

describe('provisioning with one archive call (real engine)', () => {
  const policy = loadConfig({}).sandbox;
  let driver: DockerDriver;
  let exercises: string;
  const sandboxes: string[] = [];

  beforeAll(async () => {
    await requireDocker();
    driver = new DockerDriver({ instance: `cold${process.pid}`, policy, extraLabels: testLabels() });
    exercises = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-cold-provision-'));
  });
  afterAll(async () => {
    await Promise.all(sandboxes.map((id) => driver?.remove(id)));
    fs.rmSync(exercises, { recursive: true, force: true });
  });

  const load = (dir: string): Exercise => {
    const result = loadExercise(dir, {});
    if ('problems' in result) throw new Error(JSON.stringify(result.problems));
    return result.exercise;
  };
  const sandbox = async (exercise: Exercise) => {
    const id = await driver.create({
      attemptId: `cold-${Math.random().toString(36).slice(2, 10)}`,
      exerciseId: exercise.id,
      image: `opslab/sandbox-${exercise.image}:latest`,
      limits: effectiveLimits(policy, exercise.limits),
    });
    sandboxes.push(id);
    await driver.start(id);
    return id;
  };
  const stat = async (id: string, paths: string[]) => {
    const r = await driver.exec(id, ['stat', '-c', '%n %a %U %F', ...paths]);
    return r.stdout.trim().split('\n');
  };

  it('makes the missing directories (root\'s, 0755), leaves existing ones as they are, and removes the setup copy', async () => {
    const exercise = load(
      writeExercise(exercises, 'deep-setup', ['workspace: /srv/team/app'], '#!/bin/sh\nset -e\ntest -f /tmp/opslab-exercise/README.md\ntest ! -e /tmp/opslab-exercise/checks\necho set-up > from-setup.txt\n'),
    );
    const id = await sandbox(exercise);
    const before = await stat(id, ['/root', '/tmp', '/srv']);
    await provisionExercise(driver, id, exercise, { params: {}, seed: 's' });
    expect(await stat(id, ['/root', '/tmp', '/srv'])).toEqual(before);
    expect(await stat(id, ['/srv/team', '/srv/team/app', '/srv/team/app/notes'])).toEqual([
      '/srv/team 755 root directory',
      '/srv/team/app 755 root directory',
      '/srv/team/app/notes 755 root directory',
    ]);
    expect((await driver.exec(id, ['cat', '/srv/team/app/answer.txt', '/srv/team/app/from-setup.txt'])).stdout).toBe('todo\nset-up\n');
    expect(await driver.statPath(id, EXERCISE_COPY_DIR)).toBeNull();
  }, 120_000);

  it('says why when the workspace is a file, and removes the copy after a setup that fails', async () => {
    const onFile = load(writeExercise(exercises, 'on-file', ['workspace: /etc/hostname']));
    const id = await sandbox(onFile);
    const err = await provisionExercise(driver, id, onFile, { params: {}, seed: 's' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as Error).message).toContain('cannot create the workspace /etc/hostname');

    const failing = load(writeExercise(exercises, 'failing-setup', [], '#!/bin/sh\necho broken >&2\nexit 3\n'));
    const other = await sandbox(failing);
    const failed = await provisionExercise(driver, other, failing, { params: {}, seed: 's' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ProvisionError);
    expect((failed as ProvisionError).output).toContain('broken');
    expect((failed as Error).message).toContain('exit code 3');
    expect(await driver.statPath(other, EXERCISE_COPY_DIR)).toBeNull();
  }, 120_000);
});
