// A build job graded through the real grading path: the candidate's Dockerfile in a live sandbox is built by the
// bounded build, the fixture's checks read build.json, the layers' files and the run's output in the grader, also when
// graded from the stored snapshot; a Dockerfile the reader refuses and a RUN that never ends are failed checks (not
// errors) and the grading completes; no image or container of the build is left after any case.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { loadExercise, type Exercise } from '../../server/src/exercises/catalog.js';
import { provisionExercise } from '../../server/src/exercises/provision.js';
import { drawVariant, newSeed } from '../../server/src/exercises/variants.js';
import { gradeSandbox, type GradingRun } from '../../server/src/grading/runner.js';
import { evidencePaths } from '../../server/src/exercises/exercise-spec.js';
import { snapshotFiles } from '../../server/src/grading/file-source.js';
import { snapshotSandbox } from '../../server/src/grading/snapshot.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { BUILD_LABEL } from '../../server/src/sandbox/drivers/docker/image-build.js';
import { LABELS } from '../../server/src/sandbox/labels.js';
import { effectiveLimits } from '../../server/src/sandbox/policy.js';
import { docker, requireDocker, testLabels } from '../helpers/docker.js';
import { tempDataDir } from '../helpers/server.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'exercises-build', 'fixture-build');
const policy = loadConfig({}).sandbox;
const instance = `cb${process.pid}`;

function fixture(): Exercise {
  const result = loadExercise(FIXTURE, {});
  if ('problems' in result) throw new Error(JSON.stringify(result.problems));
  return result.exercise;
}

async function leftovers(): Promise<{ containers: number; images: number }> {
  const label = [`${LABELS.instance}=${instance}`, BUILD_LABEL];
  const containers = await docker.listContainers({ all: true, filters: { label } });
  const images = await docker.listImages({ all: true, filters: { label } } as object);
  // Clean-room jobs of this instance too (the run's container).
  const jobs = await docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${instance}`, `${LABELS.role}=cleanroom`] } });
  return { containers: containers.length + jobs.length, images: images.length };
}

const verdicts = (run: GradingRun) => Object.fromEntries(run.results.map((r) => [r.id, r.verdict]));
const message = (run: GradingRun, id: string) => run.results.find((r) => r.id === id)!.message;

describe('clean-room build job (docker)', () => {
  let driver: DockerDriver;
  let exercise: Exercise;
  let sandbox: { id: string; seed: string; params: Record<string, string> };

  const writeDockerfile = async (text: string) => {
    const put = await driver.exec(sandbox.id, ['bash', '-c', `printf '%s' "$1" > /root/work/app/Dockerfile`, 'put', text], { timeoutMs: 30_000 });
    expect(put.exitCode).toBe(0);
  };
  const grade = (ex: Exercise = exercise) => gradeSandbox({ driver, sandboxId: sandbox.id, exercise: ex, params: sandbox.params, seed: sandbox.seed, labels: testLabels() });

  beforeAll(async () => {
    await requireDocker();
    driver = new DockerDriver({ instance, policy, extraLabels: testLabels() });
    exercise = fixture();
    const id = await driver.create({ attemptId: `cb-${Date.now().toString(36)}`, exerciseId: exercise.id, image: 'opslab/sandbox-base:latest', limits: effectiveLimits(policy, exercise.limits) });
    await driver.start(id);
    const seed = newSeed();
    const params = drawVariant(exercise.variants, seed);
    await provisionExercise(driver, id, exercise, { params, seed });
    sandbox = { id, seed, params };
  });
  afterAll(async () => {
    if (sandbox) await driver.remove(sandbox.id);
    for (const i of (await driver?.listBuildImages()) ?? []) await driver.removeImage(i.id).catch(() => undefined);
  });

  it('builds the candidate Dockerfile and the checks read the image, its layers and the run', async () => {
    const run = await grade();
    expect(verdicts(run)).toEqual({ built: 'pass', 'non-root': 'pass', healthcheck: 'pass', 'no-secret': 'fail', runs: 'pass' });
    // The secret copied in one step and deleted in a later one is found in the layer that copied it.
    expect(message(run, 'no-secret')).toMatch(/^layer \d+ \(COPY secret\.txt \/app\/secret\.txt\) holds the secret in \/app\/secret\.txt\n\(deleted again in layer \d+: still in the image\)$/);
    expect(message(run, 'non-root')).toBe('runs as app');
    expect(message(run, 'healthcheck')).toBe('health check: CMD-SHELL test -x /app/server.sh');
    expect(message(run, 'runs')).toBe('app server-ok secret-absent');
    expect(run.cleanroom).toEqual([{ id: 'image', exitCode: 0, durationMs: expect.any(Number) }]);
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });

    // The fixed Dockerfile: no layer holds the secret any more (and `COPY x .` goes into the WORKDIR, as with the
    // engine's builder).
    await writeDockerfile(['FROM opslab/sandbox-base:latest', 'RUN useradd -l -u 10010 -m app', 'WORKDIR /app', 'COPY server.sh .', 'USER app', 'HEALTHCHECK CMD true', ''].join('\n'));
    const fixed = await grade();
    expect(verdicts(fixed)).toEqual({ built: 'pass', 'non-root': 'pass', healthcheck: 'pass', 'no-secret': 'pass', runs: 'pass' });
    expect(message(fixed, 'runs')).toBe('app server-ok secret-absent');
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });

    // The context is evidence: a grading from the stored snapshot (a regrade) builds the same image.
    const file = path.join(tempDataDir(), 'final.tar');
    fs.writeFileSync(file, await snapshotSandbox(driver, sandbox.id, evidencePaths(exercise)));
    const stored = await gradeSandbox({ driver, sandboxId: null, files: snapshotFiles(file), exercise, params: sandbox.params, seed: sandbox.seed, labels: testLabels() });
    expect(stored.results.map((r) => [r.id, r.verdict, r.message])).toEqual(fixed.results.map((r) => [r.id, r.verdict, r.message]));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  }, 90_000);

  it('fails the checks with the reader\'s message for a refused Dockerfile, without an error', async () => {
    await writeDockerfile('FROM opslab/grader:latest\nUSER nobody\n');
    const grader = await grade();
    expect(grader.results.map((r) => r.verdict)).toEqual(['fail', 'fail', 'fail', 'fail', 'fail']);
    expect(message(grader, 'built')).toMatch(/^the Dockerfile did not build: Dockerfile line 1: .*opslab\/grader:latest/);
    expect(grader.cleanroom[0]!.exitCode).toBe(1);

    await writeDockerfile('ARG BASE=opslab/sandbox-base:latest\nFROM $BASE\n');
    const arg = await grade();
    expect(verdicts(arg).built).toBe('fail');
    expect(message(arg, 'built')).toMatch(/^the Dockerfile did not build: Dockerfile line \d: /);
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
    // The export reads only images this installation built.
    await expect(driver.exportImage('opslab/sandbox-base:latest')).rejects.toThrow(/is not an image this installation built/);
  }, 60_000);

  it('bounds a RUN that never ends by the job\'s time limit, and the grading completes', async () => {
    await writeDockerfile('FROM opslab/sandbox-base:latest\nRUN sleep infinity\n');
    const short: Exercise = { ...exercise, cleanroom: exercise.cleanroom.map((c) => ({ ...c, timeoutSeconds: 8 })) };
    const t0 = Date.now();
    const run = await grade(short);
    expect(Date.now() - t0).toBeLessThan(45_000);
    expect(verdicts(run).built).toBe('fail');
    expect(message(run, 'built')).toMatch(/Dockerfile line 2: the build took longer than 8000 ms/);
    expect(run.results.every((r) => r.verdict !== 'error')).toBe(true);
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  }, 60_000);
});
