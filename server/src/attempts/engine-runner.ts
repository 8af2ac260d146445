import type { Config } from '../config.js';
import { provisionExercise, runBoot } from '../exercises/provision.js';
import { diffSnapshots, gradeSandbox, snapshotFiles, snapshotSandbox, snapshotSandboxToFile } from '../grading/index.js';
import { effectiveLimits } from '../sandbox/policy.js';
import type { JobDriver } from '../sandbox/sandbox-driver.js';
import type { ExerciseRunner } from './exercise-runner.js';

/** Clean rooms are short: their disk is sampled at least this often (more often when sandboxes' is). */
const CLEANROOM_DISK_INTERVAL_MS = 1000;

/** The ExerciseRunner on the engine: setup inside the sandbox, checks in a grader container next to it. */
export function engineRunner(opts: {
  driver: JobDriver;
  config: Config;
  imageRef: (image: string) => string;
  labels?: Record<string, string>;
  log: (message: string, data?: Record<string, unknown>) => void;
}): ExerciseRunner {
  const { driver, config } = opts;
  return {
    async provision(sandboxId, exercise, variant) {
      await provisionExercise(driver, sandboxId, exercise, variant);
    },
    async boot(sandboxId) {
      const r = await runBoot(driver, sandboxId);
      // The exercise's boot script (which the candidate may have edited): its failure is the exercise's, logged.
      if (r && r.exitCode !== 0) opts.log('boot script failed', { sandboxId, exitCode: r.exitCode, ms: r.ms, output: r.output.slice(-500) });
    },
    async grade(sandboxId, exercise, variant, attemptId, snapshotFile) {
      const run = await gradeSandbox({
        driver,
        sandboxId,
        ...(snapshotFile ? { files: snapshotFiles(snapshotFile) } : {}),
        exercise,
        params: variant.params,
        seed: variant.seed,
        labels: opts.labels ?? {},
        attemptId,
        cleanroomLimits: effectiveLimits(config.sandbox, exercise.limits),
        cleanroomDisk: { quotaBytes: config.sandbox.diskQuotaBytes, intervalMs: Math.min(config.sandbox.diskIntervalMs, CLEANROOM_DISK_INTERVAL_MS) },
        imageRef: opts.imageRef,
        log: opts.log,
      });
      return {
        startedAt: Date.parse(run.startedAt),
        finishedAt: Date.parse(run.finishedAt),
        score: run.score,
        maxScore: run.maxScore,
        results: run.results,
        cleanroom: run.cleanroom,
      };
    },
    snapshot: (sandboxId, paths) => snapshotSandbox(driver, sandboxId, paths, { maxTotalBytes: config.snapshotMaxBytes }),
    snapshotToFile: (sandboxId, paths, file) =>
      snapshotSandboxToFile(driver, sandboxId, paths, file, { maxTotalBytes: config.snapshotMaxBytes }),
    diff: (beforeFile, afterFile) => diffSnapshots(beforeFile, afterFile),
  };
}
