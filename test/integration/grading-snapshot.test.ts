// Grading from a stored snapshot gives what grading the live sandbox gave, with the sandbox gone: checks and
// clean-room jobs (the committed HEAD, the grader's own hidden material) read the same files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { snapshotFiles } from '../../server/src/grading/file-source.js';
import { gradeSandbox, type GradingRun } from '../../server/src/grading/runner.js';
import { snapshotSandbox } from '../../server/src/grading/snapshot.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { adhocExercise } from '../helpers/adhoc-exercise.js';
import { requireDocker, testLabels } from '../helpers/docker.js';
import { plant, startBaseSandbox } from '../helpers/sandbox-probe.js';

const policy = loadConfig({}).sandbox;

const PLANT = String.raw`
set -e
export GIT_AUTHOR_NAME=c GIT_AUTHOR_EMAIL=c@example.com GIT_COMMITTER_NAME=c GIT_COMMITTER_EMAIL=c@example.com
mkdir -p /root/work/repo && cd /root/work/repo
git init -q . && echo 42 > answer.txt && git add answer.txt && git commit -qm answer
echo uncommitted > answer.txt
ln -s answer.txt link && ln answer.txt hard && printf 'notes\n' > ../notes.md
`;

const CHECK_FILES = String.raw`#!/bin/bash
cd "$WORKSPACE" || exit 2
echo "answer=$(cat repo/answer.txt) link=$(cat repo/link) hard=$(cat repo/hard) notes=$(cat notes.md) head=$(git -C repo log -1 --format=%s)"
`;
const CHECK_CLEANROOM = String.raw`#!/bin/bash
grep '^::r::' /cleanroom/verify/output.log | tr '\n' ' '
grep -q '^::r:: match' /cleanroom/verify/output.log
`;

describe('grading from a stored snapshot (real engine, real grader)', () => {
  let driver: DockerDriver;
  let sandboxId: string | null = null;
  let dir: string;
  const base = adhocExercise({
    id: 'grade-from-snapshot',
    checks: { files: { script: CHECK_FILES }, cleanroom: { script: CHECK_CLEANROOM } },
    hidden: { expected: '42\n' },
  });
  const exercise = {
    ...base,
    cleanroom: [
      {
        id: 'verify',
        image: 'base',
        copy: '/root/work/repo',
        gitHead: true,
        hidden: 'hidden',
        // A pristine directory of the exercise, brought beside hidden/'s files without a copy in hidden/.
        bring: [{ from: 'pristine', to: 'original/files' }],
        timeoutSeconds: 30,
        run: [
          'echo "::r:: $(stat -c %U:%a /opt/opslab-hidden/expected)"',
          'echo "::r:: brought $(cat /opt/opslab-hidden/original/files/answer.txt) $(stat -c %U:%a /opt/opslab-hidden/original/files/answer.txt)"',
          'setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo x > /opt/opslab-hidden/original/files/answer.txt" 2>/dev/null && echo "::r:: brought writable" || echo "::r:: brought read-only"',
          'setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo x > /opt/opslab-hidden/expected" 2>/dev/null && echo "::r:: hidden writable" || echo "::r:: hidden read-only"',
          'if [ "$(cat answer.txt)" = "$(cat /opt/opslab-hidden/expected)" ]; then echo "::r:: match"; else echo "::r:: mismatch $(cat answer.txt)"; fi',
        ].join('\n'),
      },
    ],
  };

  beforeAll(async () => {
    await requireDocker();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-snapshot-grading-'));
    fs.mkdirSync(path.join(base.dir, 'pristine'));
    fs.writeFileSync(path.join(base.dir, 'pristine', 'answer.txt'), '41\n');
    driver = new DockerDriver({ instance: `gs${process.pid}`, policy, extraLabels: testLabels() });
    sandboxId = await startBaseSandbox(driver, policy, exercise.id);
    await plant(driver, sandboxId, PLANT);
  });

  afterAll(async () => {
    if (sandboxId) await driver?.remove(sandboxId);
    base.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const outcome = (run: GradingRun) => run.results.map((r) => ({ id: r.id, verdict: r.verdict, message: r.message.trim() }));

  it('gives the same verdicts and messages once the sandbox is gone', async () => {
    const live = await gradeSandbox({ driver, sandboxId: sandboxId!, exercise, params: {}, seed: 's', labels: testLabels() });
    const file = path.join(dir, 'final.tar');
    fs.writeFileSync(file, await snapshotSandbox(driver, sandboxId!, exercise.collect));
    await driver.remove(sandboxId!);
    sandboxId = null;

    const stored = await gradeSandbox({ driver, sandboxId: null, files: snapshotFiles(file), exercise, params: {}, seed: 's', labels: testLabels() });
    expect(outcome(stored)).toEqual(outcome(live));
    const files = stored.results.find((r) => r.id === 'files')!;
    expect(files.message.trim()).toBe('answer=uncommitted link=uncommitted hard=uncommitted notes=notes head=answer');
    // The clean room got the committed HEAD and the grader's own material, root's and out of the code's reach.
    const cleanroom = stored.results.find((r) => r.id === 'cleanroom')!;
    expect(cleanroom.verdict).toBe('pass');
    expect(cleanroom.message).toContain('::r:: root:644');
    expect(cleanroom.message).toContain('::r:: hidden read-only');
    expect(cleanroom.message).toContain('::r:: brought 41 root:644');
    expect(cleanroom.message).toContain('::r:: brought read-only');
  }, 180_000);

  it('says so when a path is not in the snapshot', async () => {
    const file = path.join(dir, 'empty.tar');
    fs.writeFileSync(file, Buffer.alloc(1024));
    await expect(snapshotFiles(file).copyOut('/root/work')).rejects.toMatchObject({ statusCode: 404 });
  });
});
