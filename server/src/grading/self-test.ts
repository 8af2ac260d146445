import { randomBytes } from 'node:crypto';
import type { Exercise } from '../exercises/catalog.js';
import { applyAnswer, provisionExercise } from '../exercises/provision.js';
import { drawVariant, newSeed, type VariantParams } from '../exercises/variants.js';
import { sandboxImageTag } from '../images/index.js';
import type { SandboxPolicyConfig } from '../config.js';
import { bringUp } from '../sandbox/bring-up.js';
import { effectiveLimits } from '../sandbox/policy.js';
import type { JobDriver } from '../sandbox/sandbox-driver.js';
import { gradeSandbox, type GradingRun, type Verdict } from './runner.js';

/** The states the self-test grades: the untouched sandbox, the reference answer, each other correct answer, each near miss. */
export interface SelfTestState {
  name: string;
  /** The script run before grading (relative to the exercise dir), none for the untouched sandbox. */
  script: string | null;
  /** What each check must end in; 'fail-or-pass' = no claim (initially: any). */
  expect: Record<string, 'pass' | 'fail' | 'fail-or-pass'>;
}

export interface SelfTestRun {
  seed: string;
  params: VariantParams;
  state: string;
  provisionMs: number;
  applyMs: number;
  gradings: GradingRun[];
  verdicts: Record<string, Verdict>[];
  problems: string[];
  totalMs: number;
}

export interface SelfTestReport {
  exerciseId: string;
  ok: boolean;
  runs: SelfTestRun[];
  problems: string[];
  durationMs: number;
}

export interface SelfTestOptions {
  driver: JobDriver;
  policy: SandboxPolicyConfig;
  seeds?: number;
  /** Sandboxes provisioned and graded at the same time. */
  parallel?: number;
  /**
   * How many of the seeds have each state graded a second time, to catch a verdict that changes between two
   * gradings of the same sandbox (default: every seed); the other seeds' states are graded once.
   */
  gradedTwice?: number;
  labels?: Record<string, string>;
  imageRef?: (name: string) => string;
  onRun?: (run: SelfTestRun) => void;
  /** Stops taking new states (the caller removes what is left). */
  signal?: AbortSignal;
}

export function selfTestStates(exercise: Exercise): SelfTestState[] {
  const states: SelfTestState[] = [];
  const initial: SelfTestState['expect'] = {};
  for (const c of exercise.checks) initial[c.id] = c.initially === 'fail' ? 'fail' : 'fail-or-pass';
  states.push({ name: 'untouched', script: null, expect: initial });
  const solved: SelfTestState['expect'] = {};
  for (const c of exercise.checks) solved[c.id] = 'pass';
  states.push({ name: 'solution/apply', script: 'solution/apply', expect: solved });
  for (const alt of exercise.alternatives) states.push({ name: alt, script: alt, expect: solved });
  for (const w of exercise.wrong) {
    const expect: SelfTestState['expect'] = {};
    for (const c of exercise.checks) expect[c.id] = w.fails.includes(c.id) ? 'fail' : 'pass';
    states.push({ name: w.script, script: w.script, expect });
  }
  return states;
}

/**
 * The exercise's self-test on the real engine (docs/exercise-format.md, "Self-test"): for each seed and state a
 * fresh sandbox, provisioned, the state's script applied, graded twice (once on the seeds past `gradedTwice`).
 * Every sandbox is removed afterwards.
 */
export async function selfTest(exercise: Exercise, opts: SelfTestOptions): Promise<SelfTestReport> {
  const started = Date.now();
  const seeds: string[] = [];
  const wanted = opts.seeds ?? 2;
  // Different seeds, and different parameters where the exercise has more than one combination.
  for (let tries = 0; seeds.length < wanted && tries < 50; tries++) {
    const seed = newSeed();
    const params = JSON.stringify(drawVariant(exercise.variants, seed));
    if (tries < 40 && seeds.some((s) => JSON.stringify(drawVariant(exercise.variants, s)) === params)) continue;
    seeds.push(seed);
  }
  const jobs: { seed: string; state: SelfTestState; gradings: 1 | 2 }[] = [];
  const twice = opts.gradedTwice ?? seeds.length;
  for (const [i, seed] of seeds.entries()) {
    for (const state of selfTestStates(exercise)) jobs.push({ seed, state, gradings: i < twice ? 2 : 1 });
  }
  const runs: SelfTestRun[] = [];
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= jobs.length || opts.signal?.aborted) return;
      const job = jobs[i]!;
      const run = await runState(exercise, job.seed, job.state, job.gradings, opts);
      runs.push(run);
      opts.onRun?.(run);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.parallel ?? 2) }, worker));
  const problems = runs.flatMap((r) => r.problems.map((p) => `seed ${r.seed.slice(0, 8)}, ${r.state}: ${p}`));
  return { exerciseId: exercise.id, ok: problems.length === 0, runs, problems, durationMs: Date.now() - started };
}

async function runState(
  exercise: Exercise,
  seed: string,
  state: SelfTestState,
  gradings: 1 | 2,
  opts: SelfTestOptions,
): Promise<SelfTestRun> {
  const t0 = Date.now();
  const { driver } = opts;
  const params = drawVariant(exercise.variants, seed);
  const run: SelfTestRun = {
    seed,
    params,
    state: state.name,
    provisionMs: 0,
    applyMs: 0,
    gradings: [],
    verdicts: [],
    problems: [],
    totalMs: 0,
  };
  const imageRef = opts.imageRef ?? sandboxImageTag;
  let sandboxId = null as string | null;
  try {
    const up = await bringUp(
      { driver, policy: opts.policy, imageRef },
      {
        exercise,
        owner: { attemptId: `selftest-${randomBytes(6).toString('hex')}` },
        attach: 'no',
        onCreated: (id) => {
          sandboxId = id;
        },
        setup: async (id) => {
          run.provisionMs = (await provisionExercise(driver, id, exercise, { params, seed })).totalMs;
        },
      },
    );
    await up.setUp;
    if (state.script) {
      const r = await applyAnswer(driver, up.sandboxId, exercise, state.script, { params, seed });
      run.applyMs = r.ms;
      if (r.exitCode !== 0) {
        run.problems.push(`${state.script} exited with ${r.exitCode}: ${r.output.trim().slice(-2000)}`);
        return run;
      }
    }
    for (let i = 0; i < gradings; i++) {
      const grading = await gradeSandbox({
        driver,
        sandboxId: up.sandboxId,
        exercise,
        params,
        seed,
        labels: opts.labels ?? {},
        cleanroomLimits: effectiveLimits(opts.policy, exercise.limits),
        imageRef,
      });
      run.gradings.push(grading);
      run.verdicts.push(Object.fromEntries(grading.results.map((r) => [r.id, r.verdict])));
    }
    const [first, second] = run.gradings;
    for (const r of first!.results) {
      const again = second?.results.find((x) => x.id === r.id) ?? r;
      const expected = state.expect[r.id];
      const evidence = [r.message, r.details].filter(Boolean).join(' | ').replace(/\s+/g, ' ').slice(0, 300);
      if (r.verdict === 'error' || again.verdict === 'error') {
        const e = r.verdict === 'error' ? r : again;
        run.problems.push(`check ${r.id}: ended in error: ${[e.message, e.details].filter(Boolean).join(' | ').replace(/\s+/g, ' ').slice(0, 300)}`);
        continue;
      }
      if (r.verdict !== again.verdict) {
        run.problems.push(`check ${r.id}: flaky: ${r.verdict} on the first grading, ${again.verdict} on the second`);
        continue;
      }
      if (expected && expected !== 'fail-or-pass' && r.verdict !== expected) {
        run.problems.push(`check ${r.id}: expected ${expected}, got ${r.verdict}${evidence ? ` (${evidence})` : ''}`);
      }
    }
  } catch (err) {
    run.problems.push(`could not be run: ${(err as Error).message.slice(0, 2000)}`);
  } finally {
    if (sandboxId) await driver.remove(sandboxId).catch(() => undefined);
    run.totalMs = Date.now() - t0;
  }
  return run;
}
