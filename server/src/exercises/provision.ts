import { packDir, packTree } from '../local-tar.js';
import { ExecLimitError, type ExecOptions, type SandboxDriver } from '../sandbox/sandbox-driver.js';
import type { Exercise } from './catalog.js';
import { variantEnv, type VariantParams } from './variants.js';

export const EXERCISE_COPY_DIR = '/tmp/opslab-exercise';
export const SETUP_TIMEOUT_MS = 120_000;
export const BOOT_FILE = '/etc/opslab/boot';
/** What is kept of a setup, boot or answer script's output: its start and its end (where the error is). */
export const SCRIPT_OUTPUT_HEAD_BYTES = 64 * 1024;
export const SCRIPT_OUTPUT_TAIL_BYTES = 64 * 1024;
/** Past this much output a script's run is abandoned (the exec's stream destroyed). */
export const SCRIPT_OUTPUT_MAX_READ_BYTES = 16 * 1024 * 1024;
/** The removal of the exercise's copy: its output is never needed, and it may fail (the copy stays). */
const REMOVE_LIMITS: ExecOptions = { timeoutMs: 30_000, maxOutputBytes: 4096, tailBytes: 0, maxReadBytes: 64 * 1024 };

/** Directories of an exercise that never enter the sandbox. */
const PRIVATE_DIRS = /^(checks|hidden|solution|solution-alt|wrong)(\/|$)/;

export interface ProvisionTiming {
  copyMs: number;
  setupMs: number;
  totalMs: number;
}

export class ProvisionError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(output.trim() ? `${message}\n${output.trim()}` : message);
    this.name = 'ProvisionError';
  }
}

/**
 * Runs a script inside the sandbox as root with the variant environment, its output going to a file rather than to
 * the exec stream: services the script starts in the background then cannot keep the exec open. Returns exit code
 * and output (its head and tail). The script, and the shell and tools around it, are the sandbox's own (the
 * candidate's, once they have had the shell): what they print is capped, how long they take is bounded, and a run
 * cut off at a limit is the script's failure (exit code -1, the reason at the end of the output), never an error.
 */
async function runScript(
  driver: SandboxDriver,
  sandboxId: string,
  cwd: string,
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
  opts: { removeAfter?: string } = {},
): Promise<{ exitCode: number; output: string }> {
  const log = `/tmp/.opslab-script-${process.pid}-${Date.now()}.log`;
  // With `removeAfter`, that path goes as the script ends (however it ends), in the same exec: one engine call
  // fewer than a removal of its own. Its output is never needed, and its failure only leaves the path there.
  const removal = opts.removeAfter ? `trap 'rm -rf -- "$4" 2>/dev/null' EXIT; ` : '';
  try {
    const r = await driver.exec(
      sandboxId,
      [
        'sh',
        '-c',
        `${removal}cd "$1" || exit 97; "$2" >"$3" 2>&1 </dev/null; rc=$?; cat "$3"; rm -f "$3"; exit $rc`,
        'opslab',
        cwd,
        script,
        log,
        ...(opts.removeAfter ? [opts.removeAfter] : []),
      ],
      {
        env,
        timeoutMs,
        maxOutputBytes: SCRIPT_OUTPUT_HEAD_BYTES,
        tailBytes: SCRIPT_OUTPUT_TAIL_BYTES,
        maxReadBytes: SCRIPT_OUTPUT_MAX_READ_BYTES,
      },
    );
    return { exitCode: r.exitCode, output: r.stdout + r.stderr };
  } catch (err) {
    if (!(err instanceof ExecLimitError)) throw err;
    const why =
      err.limit === 'timeout'
        ? `did not finish within ${Math.round(timeoutMs / 1000)} s`
        : `printed more than ${SCRIPT_OUTPUT_MAX_READ_BYTES} bytes`;
    return { exitCode: -1, output: `${err.stdout}${err.stderr}\n[opslab] ${script} ${why}: stopped\n` };
  }
}

/** Removes the exercise's copy; a failure only leaves the public files there. */
async function removeCopy(driver: SandboxDriver, sandboxId: string): Promise<void> {
  await driver.exec(sandboxId, ['rm', '-rf', '--', EXERCISE_COPY_DIR], REMOVE_LIMITS).catch(() => undefined);
}

/**
 * Seeds a sandbox (running) for an exercise: workspace/ at `exercise.workspace`, then `setup` (root, cwd the
 * workspace, the variant variables) with the exercise's public files at /tmp/opslab-exercise, removed afterwards.
 * Throws a ProvisionError carrying setup's output when it fails.
 *
 * Engine calls: whether the workspace (and the copy's directory) exist, asked together; one archive carrying the
 * workspace and the exercise's files, with the directories that are missing; one exec running setup and removing
 * the copy as it ends. (An archive call costs the engine a process of its own: they were four.)
 */
export async function provisionExercise(
  driver: SandboxDriver,
  sandboxId: string,
  exercise: Exercise,
  opts: { params: VariantParams; seed: string },
): Promise<ProvisionTiming> {
  const t0 = Date.now();
  const env = variantEnv(opts.params, opts.seed);
  const ws = exercise.workspace;
  // A directory is made only where none is (as mkdir -p: links followed); anything else there is an error.
  const missing = async (dir: string, what: string): Promise<boolean> => {
    const st = await driver.statPath(sandboxId, dir, { follow: true });
    if (st && st.type !== 'directory') throw new ProvisionError(`cannot create ${what} ${dir}`, `${dir} exists and is not a directory`);
    return st === null;
  };
  const [wsMissing, copyMissing] = await Promise.all([
    missing(ws, 'the workspace'),
    exercise.hasSetup ? missing(EXERCISE_COPY_DIR, 'the directory') : false,
  ]);
  const tree = packTree([
    { dir: `${exercise.dir}/workspace`, at: ws, makeDir: wsMissing },
    ...(exercise.hasSetup
      ? [{ dir: exercise.dir, at: EXERCISE_COPY_DIR, makeDir: copyMissing, exclude: (rel: string) => PRIVATE_DIRS.test(rel) }]
      : []),
  ]);
  try {
    await driver.copyIn(sandboxId, '/', tree);
  } catch (err) {
    throw new ProvisionError(`cannot copy the exercise's files into ${ws}`, (err as Error).message);
  }
  const copyMs = Date.now() - t0;
  let setupMs = 0;
  if (exercise.hasSetup) {
    const t1 = Date.now();
    try {
      const r = await runScript(driver, sandboxId, ws, `${EXERCISE_COPY_DIR}/setup`, env, SETUP_TIMEOUT_MS, {
        removeAfter: EXERCISE_COPY_DIR,
      });
      if (r.exitCode !== 0) {
        throw new ProvisionError(`setup of exercise ${exercise.id} failed with exit code ${r.exitCode}`, r.output);
      }
    } catch (err) {
      if (err instanceof ProvisionError) throw err;
      throw new ProvisionError(`setup of exercise ${exercise.id} did not finish: ${(err as Error).message}`, '');
    } finally {
      setupMs = Date.now() - t1;
      // Gone with the script's end, unless its run was cut off at a limit (the script may still run) or the shell
      // around it was killed: asked of the engine (no process in the sandbox), removed from here if still there.
      const left = await driver.statPath(sandboxId, EXERCISE_COPY_DIR).catch(() => true);
      if (left) await removeCopy(driver, sandboxId);
    }
  }
  return { copyMs, setupMs, totalMs: Date.now() - t0 };
}

/**
 * Runs /etc/opslab/boot (written by an exercise's setup) if it exists: after every start of the container, so
 * services come back when the candidate's shell restarts it. Returns null when there is no boot file. Whether it
 * exists is asked of the engine (root may run a regular file with any execute bit, as `test -x` says); the script
 * itself, which the candidate may have changed, runs with its output capped and its time bounded, and a run cut off
 * is the script's failure, returned like any other.
 */
export async function runBoot(
  driver: SandboxDriver,
  sandboxId: string,
  opts: { timeoutMs?: number } = {},
): Promise<{ exitCode: number; output: string; ms: number } | null> {
  const t0 = Date.now();
  const boot = await driver.statPath(sandboxId, BOOT_FILE, { follow: true });
  if (!boot || boot.type !== 'file' || (boot.mode & 0o111) === 0) return null;
  const r = await runScript(driver, sandboxId, '/', BOOT_FILE, {}, opts.timeoutMs ?? SETUP_TIMEOUT_MS);
  return { ...r, ms: Date.now() - t0 };
}

/**
 * Runs one of the exercise's reference answers (solution/apply, solution-alt/<name>, wrong/<name>) in a sandbox as root, cwd the
 * workspace, with the variant variables; the exercise's files (without checks/ and hidden/) are at
 * /tmp/opslab-exercise meanwhile. Used by the self-test.
 */
export async function applyAnswer(
  driver: SandboxDriver,
  sandboxId: string,
  exercise: Exercise,
  script: string,
  opts: { params: VariantParams; seed: string; timeoutMs?: number },
): Promise<{ exitCode: number; output: string; ms: number }> {
  const t0 = Date.now();
  await driver.makeDirs(sandboxId, EXERCISE_COPY_DIR);
  await driver.copyIn(
    sandboxId,
    EXERCISE_COPY_DIR,
    packDir(exercise.dir, { prefix: '', uid: 0, gid: 0, exclude: (rel) => /^(checks|hidden)(\/|$)/.test(rel) }),
  );
  try {
    const r = await runScript(
      driver,
      sandboxId,
      exercise.workspace,
      `${EXERCISE_COPY_DIR}/${script}`,
      variantEnv(opts.params, opts.seed),
      opts.timeoutMs ?? SETUP_TIMEOUT_MS,
    );
    return { ...r, ms: Date.now() - t0 };
  } finally {
    await removeCopy(driver, sandboxId);
  }
}
