import type { CheckSpec, Exercise } from '../exercises/catalog.js';
import { variantEnv, type VariantParams } from '../exercises/variants.js';
import { GRADER_IMAGE_TAG } from '../images/index.js';
import type { JobDriver, ResourceLimits } from '../sandbox/sandbox-driver.js';
import type { JobDiskQuota } from '../sandbox/disk-watch.js';
import { GRADER_UID } from './archive.js';
import { JobSet, runJob, type CleanroomResult } from './cleanroom-jobs.js';
import { BACKSTOP_SLACK_MS, KILL_AFTER_SECONDS } from './limits.js';
import { sandboxFiles, type FileSource } from './file-source.js';
import { copySandbox, putChanges, putProcessList } from './grader-inputs.js';
import { measurementTurns, type Turns } from './measurement-turns.js';
import { packDir } from '../local-tar.js';
import type { CheckResult, CheckVerdict } from '../../../contract/attempts.js';
import { tallyGrade } from '../../../contract/grade.js';

/** A check's result: the shape the store keeps and the review shows (contract/attempts.ts). */
export type { CheckResult, CleanroomResult };
export type Verdict = CheckVerdict;

export interface GradingRun {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Points of the checks that passed (advisory checks aside: see maxScore). */
  score: number;
  /**
   * Points of the checks that ended in pass or fail. A check that ended in `error` (the grader broke: a crash, a
   * timeout, an exit code other than 0 or 1) is reported as such but left out of maxScore, so it never counts
   * against the candidate: the interviewer sees it and can re-run the grading. Advisory checks keep their
   * verdict but count in neither sum until a reviewer confirms them (tallyGrade, contract/grade.ts).
   */
  maxScore: number;
  results: CheckResult[];
  cleanroom: CleanroomResult[];
  /** Where the time went (ms): grader container start, copying, clean-room jobs, the checks. */
  phases: { graderStartMs: number; copyMs: number; cleanroomMs: number; checksMs: number };
}

export interface GradeOptions {
  driver: JobDriver;
  /** The sandbox graded; null when grading a stored snapshot (`files`) of an exercise without probes. */
  sandboxId: string | null;
  /** Where the candidate's files are read from: the live sandbox by default, or a stored snapshot. */
  files?: FileSource;
  exercise: Exercise;
  params: VariantParams;
  seed: string;
  /** Labels for the grader and clean-room containers (e.g. the attempt's, or a test run's). */
  labels?: Record<string, string>;
  attemptId?: string;
  /** Run only these checks (default: all, in the exercise's order). */
  only?: string[];
  /** Limits for clean-room jobs: the sandbox policy's (effectiveLimits(policy, exercise.limits)). */
  cleanroomLimits?: ResourceLimits;
  /** The clean rooms' disk quota: the sandbox policy's (OPSLAB_SANDBOX_DISK_MB, sampled as often as for sandboxes). */
  cleanroomDisk?: JobDiskQuota;
  graderLimits?: ResourceLimits;
  graderImage?: string;
  /** Sandbox image name -> image reference (default opslab/sandbox-<name>:latest). */
  imageRef?: (name: string) => string;
  log?: (message: string, data?: Record<string, unknown>) => void;
  /** The turns its measurements take (default: the process's, measurement-turns.ts). */
  turns?: Turns;
}

export const GRADER_LIMITS: ResourceLimits = { memoryMb: 1024, cpus: 1, pids: 256 };
export const OUTPUT_LIMIT_BYTES = 4 * 1024;

/**
 * Git reads configuration that runs commands; the candidate's repositories are reduced to inert keys on the way in
 * (see git-config.ts), and these command-line-level settings (which win over any repository's) close the rest: no
 * fsmonitor, no hooks, no pager, and no repository found by walking into a bare one the candidate planted.
 */
export const GRADER_GIT_ENV: Record<string, string> = (() => {
  const settings: [string, string][] = [
    ['core.fsmonitor', 'false'],
    ['core.hooksPath', '/dev/null'],
    ['core.pager', 'cat'],
    ['core.attributesFile', '/dev/null'],
    ['safe.bareRepository', 'explicit'],
    // No transport but local files (a check may clone the copy): no remote helper or ssh command can be named by
    // a candidate's remote.
    ['protocol.allow', 'never'],
    ['protocol.file.allow', 'always'],
    // The copy belongs to the grader user, the exercise's own files to root: both are fine to read.
    ['safe.directory', '*'],
  ];
  const env: Record<string, string> = {
    GIT_CONFIG_NOSYSTEM: '1',
    // No global configuration either (the checks' HOME is a fresh scratch directory, but git also reads XDG paths).
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    // refs/replace/ would let a candidate show other objects in place of the real ones.
    GIT_NO_REPLACE_OBJECTS: '1',
    // Reading commands (status, diff) do not write the index back.
    GIT_OPTIONAL_LOCKS: '0',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: String(settings.length),
  };
  settings.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
})();

/**
 * Runs a check under `timeout` with its output going to files, then prints them: a process the check left behind
 * (even one that escaped timeout's process group) cannot hold the exec open, and the output is capped here.
 */
const CHECK_WRAPPER = [
  'd=$(mktemp -d /tmp/opslab-check.XXXXXX) && mkdir "$d/home" "$d/tmp" || exit 98',
  // A fresh home and temporary directory for each check, removed after it: nothing one check writes there is seen
  // by the next (the grader's own home, checks and hidden data are not writable by the check's user at all).
  'HOME="$d/home" TMPDIR="$d/tmp" XDG_CONFIG_HOME="$d/home/.config" timeout -k "$1s" "$2s" "$3" >"$d/out" 2>"$d/err" </dev/null',
  'rc=$?',
  `head -c ${OUTPUT_LIMIT_BYTES} "$d/out"`,
  `head -c ${OUTPUT_LIMIT_BYTES} "$d/err" >&2`,
  'rm -rf "$d"',
  'exit $rc',
].join('\n');

const cut = (s: string, limit = OUTPUT_LIMIT_BYTES) => {
  const b = Buffer.from(s, 'utf8');
  return b.length <= limit ? s : b.subarray(0, limit).toString('utf8');
};

/** Grades a sandbox: clean-room jobs, then every check in a fresh grader container. The grader is always removed. */
export async function gradeSandbox(opts: GradeOptions): Promise<GradingRun> {
  const { driver, sandboxId, exercise } = opts;
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const env = variantEnv(opts.params, opts.seed);
  const checks = opts.only ? exercise.checks.filter((c) => opts.only!.includes(c.id)) : exercise.checks;
  const jobCommon = {
    labels: opts.labels ?? {},
    exerciseId: exercise.id,
    ...(opts.attemptId ? { attemptId: opts.attemptId } : {}),
  };

  const info = sandboxId ? await driver.inspect(sandboxId) : null;
  if (!opts.files && !info) throw new Error(`sandbox ${sandboxId} does not exist: nothing to grade`);
  const files = opts.files ?? sandboxFiles(driver, sandboxId!);
  if (checks.length === 0) {
    // Nothing would read the copy or the clean-room results: no grader at all.
    const at = new Date(started).toISOString();
    return {
      startedAt: at,
      finishedAt: at,
      durationMs: Date.now() - started,
      score: 0,
      maxScore: 0,
      results: [],
      cleanroom: [],
      phases: { graderStartMs: 0, copyMs: 0, cleanroomMs: 0, checksMs: 0 },
    };
  }
  // The loader refuses these; an Exercise built in code must not leave a check waiting for a job that never runs.
  const jobIds = new Set(exercise.cleanroom.map((j) => j.id));
  for (const c of checks) {
    const unknown = (c.needs ?? []).find((id) => !jobIds.has(id));
    if (unknown) throw new Error(`check ${c.id} of ${exercise.id} needs clean-room job "${unknown}", which the exercise does not declare`);
  }
  if (exercise.probe) {
    if (info?.runState !== 'running') {
      throw new Error(`exercise ${exercise.id} has probe: true and its checks need the sandbox running (it is ${info?.runState ?? 'gone'})`);
    }
  }
  const turns = opts.turns ?? measurementTurns;
  const graderId = await driver.createJob({
    role: 'grader',
    image: opts.graderImage ?? GRADER_IMAGE_TAG,
    limits: opts.graderLimits ?? GRADER_LIMITS,
    hardening: 'grader',
    ...(exercise.probe ? { joinSandbox: sandboxId! } : {}),
    ...jobCommon,
    // Files go in while it starts.
    start: false,
  });
  let graderStartMs = 0;
  try {
    // The candidate's files, the exercise's checks, and the clean-room jobs: independent, so at the same time.
    const copyStarted = Date.now();
    let copyMs = 0;
    const cleanroom: CleanroomResult[] = [];
    const copying = copySandbox(files, driver, graderId, exercise.collect).then(() => (copyMs = Date.now() - copyStarted));
    // A job marked `alone` (a measurement) starts once the copy and the other jobs have ended, and in its turn
    // among the process's measurements (measurement-turns.ts); the rest run side by side from the start. Each
    // one's files go into the grader as it ends.
    let othersDone: () => void = () => undefined;
    const aloneGate = new Promise<void>((resolve) => (othersDone = resolve));
    const jobs = new JobSet(
      exercise.cleanroom.map((job, i) => ({
        id: job.id,
        run: async () => {
          if (job.alone) await aloneGate;
          const run = () => runJob(opts, files, job, env, jobCommon, graderId);
          cleanroom[i] = await (job.alone ? turns.run(run) : run());
        },
      })),
    );
    const together = exercise.cleanroom.filter((j) => !j.alone).map((j) => j.id);
    void Promise.allSettled([copying, jobs.until(together)]).then(() => othersDone());
    const settled = await Promise.allSettled([
      driver.start(graderId).then(() => (graderStartMs = Date.now() - started)),
      copying,
      driver.copyIn(
        graderId,
        '/',
        packDir(exercise.dir, {
          prefix: 'exercise',
          exclude: (rel) => !/^(checks|hidden)(\/|$)/.test(rel),
          uid: 0,
          gid: 0,
          readOnlyForOthers: true,
        }),
      ),
    ]);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await jobs.all();
      throw failed.reason;
    }

    if (exercise.probe) await putChanges(driver, sandboxId!, graderId);
    // Each check runs once the jobs it reads (`needs`, default all) have ended, the first ready one in the
    // exercise's order first: the checks that read no clean room run while the jobs still do.
    const checksStarted = Date.now();
    const byId = new Map<string, CheckResult>();
    const pending = checks.map((c) => ({ check: c, needs: c.needs ?? jobs.ids }));
    while (pending.length > 0) {
      // A job that failed (the engine, not the candidate's code) fails the grading.
      if (jobs.failure()) await jobs.settled();
      const i = pending.findIndex((p) => p.needs.every((id) => jobs.ended(id)));
      if (i < 0) {
        await jobs.next(pending.flatMap((p) => p.needs));
        continue;
      }
      const { check } = pending.splice(i, 1)[0]!;
      const before = exercise.probe ? () => putProcessList(driver, sandboxId!, graderId) : undefined;
      byId.set(check.id, await runCheck(driver, graderId, exercise, check, env, before));
    }
    await jobs.settled();
    const results = checks.map((c) => byId.get(c.id)!);
    const checksMs = Date.now() - checksStarted;

    const finished = Date.now();
    const { score, maxScore } = tallyGrade(results);
    return {
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - started,
      score,
      maxScore,
      results,
      cleanroom,
      phases: { graderStartMs, copyMs, cleanroomMs: jobs.durationMs, checksMs },
    };
  } finally {
    await driver.remove(graderId).catch((err: Error) => log('grader container removal failed', { err: err.message }));
  }
}

async function runCheck(
  driver: JobDriver,
  graderId: string,
  exercise: Exercise,
  check: CheckSpec,
  variant: Record<string, string>,
  before?: () => Promise<void>,
): Promise<CheckResult> {
  const t0 = Date.now();
  const env = {
    ...variant,
    ...GRADER_GIT_ENV,
    SANDBOX: '/sandbox',
    WORKSPACE: `/sandbox${exercise.workspace}`,
    EXERCISE: '/exercise',
    CHECK_ID: check.id,
    HOME: '/home/grader',
    USER: 'grader',
    // Python loads nothing from the user's site directory or from the current directory (the copy), and
    // writes no bytecode: what it runs is the grader's own code and the standard library.
    PYTHONNOUSERSITE: '1',
    PYTHONSAFEPATH: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  const seconds = check.timeoutSeconds;
  let verdict: Verdict;
  let message = '';
  let details = '';
  try {
    await before?.();
    const r = await driver.execJob(
      graderId,
      ['bash', '-c', CHECK_WRAPPER, 'opslab-check', String(KILL_AFTER_SECONDS), String(seconds), `/exercise/checks/${check.id}`],
      {
        user: `${GRADER_UID}:${GRADER_UID}`,
        workdir: '/sandbox',
        env,
        timeoutMs: (seconds + KILL_AFTER_SECONDS) * 1000 + BACKSTOP_SLACK_MS,
        maxOutputBytes: OUTPUT_LIMIT_BYTES,
      },
    );
    message = r.stdout;
    details = r.stderr;
    if (r.timedOut || r.exitCode === null) {
      verdict = 'error';
      details = note(details, `[opslab] the check did not end within ${seconds} s (its output stayed open)`);
    } else if (r.exitCode === 0) verdict = 'pass';
    else if (r.exitCode === 1) verdict = 'fail';
    else {
      verdict = 'error';
      const why =
        r.exitCode === 124
          ? `timed out after ${seconds} s`
          : r.exitCode === 126 || r.exitCode === 127
            ? `could not be run (exit code ${r.exitCode})`
            : r.exitCode > 128
              ? `was ended by signal ${r.exitCode - 128} (the timeout's kill or the memory limit)`
              : `ended with exit code ${r.exitCode}`;
      details = note(details, `[opslab] the check ${why}: a grader error, not counted`);
    }
  } catch (err) {
    verdict = 'error';
    details = `[opslab] the check could not be run: ${(err as Error).message}`;
  }
  return {
    id: check.id,
    title: check.title,
    points: check.points,
    advisory: check.advisory,
    visible: check.visible,
    verdict,
    message: cut(message.trim()),
    details: cut(details.trim()),
    durationMs: Date.now() - t0,
  };
}

const note = (text: string, line: string) => (text.trim() ? `${text.trim()}\n${line}` : line);

/**
 * Removes grader, clean-room and image build containers older than `olderThanSeconds` (left behind when a server
 * died in the middle of a grading; a live grading removes its own), and built images as old. Returns the ids removed.
 */
export async function removeStaleJobs(driver: JobDriver, olderThanSeconds = 2 * 3600): Promise<string[]> {
  const stale = (await driver.listJobs()).filter((j) => j.ageSeconds >= olderThanSeconds);
  await Promise.all(stale.map((j) => driver.remove(j.id).catch(() => undefined)));
  // Built images left behind too, newest first (a step's image goes before the one it was built on).
  const images = (await driver.listBuildImages?.().catch(() => [])) ?? [];
  const staleImages = images.filter((i) => i.ageSeconds >= olderThanSeconds);
  for (const i of staleImages) await driver.removeImage?.(i.id).catch(() => undefined);
  return [...stale.map((j) => j.id), ...staleImages.map((i) => i.id)];
}

