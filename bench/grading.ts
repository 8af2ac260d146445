// Grading: a full grading run per exercise and a run of one check, on a sandbox with the reference answer applied,
// against the engine's floor for one grading (one grader container created, started, exec'd into once, removed).
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { Config } from '../server/src/config.js';
import type { ExerciseCatalog } from '../server/src/exercises/catalog.js';
import { applyAnswer, provisionExercise } from '../server/src/exercises/provision.js';
import { drawVariant, newSeed } from '../server/src/exercises/variants.js';
import { gradeSandbox } from '../server/src/grading/index.js';
import { GRADER_IMAGE_TAG, sandboxImageTag } from '../server/src/images/index.js';
import type { DockerDriver } from '../server/src/sandbox/drivers/docker/docker-driver.js';
import { effectiveLimits } from '../server/src/sandbox/policy.js';
import { BENCH_LABEL } from './protocol.js';
import { summarize, type Summary } from './stats.js';

export interface GradingExerciseResult {
  exerciseId: string;
  checks: number;
  cleanroomJobs: number;
  probe: boolean;
  /** Wall time of gradeSandbox() with every check (ms). */
  full: Summary;
  /** Wall time of gradeSandbox() with only `singleCheck` (ms): the grader, the copy and the clean-room jobs included. */
  single: Summary;
  singleCheck: string;
  /** The check's own run inside the grader (its exec), from the full runs (ms). */
  singleCheckExec: Summary;
  /** Median phase times of the full runs (ms). */
  phases: { graderStartMs: number; copyMs: number; cleanroomMs: number; checksMs: number };
  /** The slowest check of the full runs: id and median exec time (ms). */
  slowestCheck: { id: string; ms: number };
  /** Verdicts of the last full run (the reference answer passes every check). */
  verdicts: Record<string, string>;
  /** Engine floor: one grader container created, started, `true` exec'd, removed (ms). */
  baseline: Summary;
  setupMs: number;
}

export async function gradingBench(opts: {
  docker: Docker;
  driver: DockerDriver;
  catalog: ExerciseCatalog;
  config: Config;
  exercises: string[];
  runs: number;
  log: (msg: string) => void;
}): Promise<GradingExerciseResult[]> {
  const { driver, docker, log } = opts;
  const results: GradingExerciseResult[] = [];
  for (const exerciseId of opts.exercises) {
    const exercise = opts.catalog.get(exerciseId);
    if (!exercise) throw new Error(`exercise ${exerciseId} is not in the catalog`);
    const seed = newSeed();
    const params = drawVariant(exercise.variants, seed);
    const limits = effectiveLimits(opts.config.sandbox, exercise.limits);
    const t0 = performance.now();
    const sandboxId = await driver.create({
      attemptId: `bench-${randomBytes(6).toString('hex')}`,
      exerciseId,
      image: sandboxImageTag(exercise.image),
      limits,
    });
    try {
      await driver.start(sandboxId);
      await provisionExercise(driver, sandboxId, exercise, { params, seed });
      const applied = await applyAnswer(driver, sandboxId, exercise, 'solution/apply', { params, seed });
      if (applied.exitCode !== 0) throw new Error(`${exerciseId}: solution/apply exited with ${applied.exitCode}: ${applied.output.slice(-500)}`);
      const setupMs = performance.now() - t0;
      const single = exercise.checks[0]!.id;
      const grade = (only?: string[]) =>
        gradeSandbox({
          driver,
          sandboxId,
          exercise,
          params,
          seed,
          labels: { [BENCH_LABEL]: 'true' },
          ...(only ? { only } : {}),
          cleanroomLimits: limits,
        });
      const full: number[] = [];
      const singles: number[] = [];
      const singleExec: number[] = [];
      const baseline: number[] = [];
      const phases: Record<'graderStartMs' | 'copyMs' | 'cleanroomMs' | 'checksMs', number[]> = {
        graderStartMs: [],
        copyMs: [],
        cleanroomMs: [],
        checksMs: [],
      };
      const perCheck = new Map<string, number[]>();
      let verdicts: Record<string, string> = {};
      // One unmeasured round first (the grader image's files come into the page cache).
      for (let i = -1; i < opts.runs; i++) {
        const a0 = performance.now();
        const run = await grade();
        const a = performance.now() - a0;
        const b0 = performance.now();
        await grade([single]);
        const b = performance.now() - b0;
        const c = await graderFloor(docker);
        if (i < 0) continue;
        full.push(a);
        singles.push(b);
        baseline.push(c);
        for (const k of Object.keys(phases) as (keyof typeof phases)[]) phases[k].push(run.phases[k]);
        for (const r of run.results) {
          if (!perCheck.has(r.id)) perCheck.set(r.id, []);
          perCheck.get(r.id)!.push(r.durationMs);
        }
        singleExec.push(run.results.find((r) => r.id === single)?.durationMs ?? NaN);
        verdicts = Object.fromEntries(run.results.map((r) => [r.id, r.verdict]));
        log(`grading ${exerciseId} ${i + 1}/${opts.runs}: full ${a.toFixed(0)} ms, one check ${b.toFixed(0)} ms, floor ${c.toFixed(0)} ms`);
      }
      const med = (v: number[]) => summarize(v).p50;
      const slowest = [...perCheck].map(([id, v]) => ({ id, ms: med(v) })).sort((x, y) => y.ms - x.ms)[0]!;
      results.push({
        exerciseId,
        checks: exercise.checks.length,
        cleanroomJobs: exercise.cleanroom.length,
        probe: exercise.probe,
        full: summarize(full),
        single: summarize(singles),
        singleCheck: single,
        singleCheckExec: summarize(singleExec),
        phases: {
          graderStartMs: med(phases.graderStartMs),
          copyMs: med(phases.copyMs),
          cleanroomMs: med(phases.cleanroomMs),
          checksMs: med(phases.checksMs),
        },
        slowestCheck: slowest,
        verdicts,
        baseline: summarize(baseline),
        setupMs,
      });
    } finally {
      await driver.remove(sandboxId).catch(() => undefined);
    }
  }
  return results;
}

/** The least an engine-backed grading costs: a grader container made, started, one exec, removed. */
async function graderFloor(docker: Docker): Promise<number> {
  const t0 = performance.now();
  const container = await docker.createContainer({
    Image: GRADER_IMAGE_TAG,
    Entrypoint: [],
    Cmd: ['sleep', 'infinity'],
    User: '10001:10001',
    Labels: { [BENCH_LABEL]: 'true' },
    HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges:true'] },
  });
  try {
    await container.start();
    const exec = await container.exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.resume();
    });
  } finally {
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
  return performance.now() - t0;
}
