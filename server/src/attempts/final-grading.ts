import { evidencePaths } from '../exercises/catalog.js';
import { gradingContainers } from '../grading/queue.js';
import type { Attempt } from '../store/attempts-repo.js';
import { FinalGradingExistsError } from '../store/grading-repo.js';
import { firstLine, type AttemptContext } from './context.js';

/**
 * The end of an attempt, evidence first: the final snapshot of the exercise's files is taken and stored before
 * anything the candidate controls runs (no boot script, no service start), from the container as it stands,
 * running or stopped; then the diff; then the grading. Exercises whose checks only read files are graded from
 * that stored snapshot (reproducible: a regrade reads the same bytes); probe exercises need the live sandbox,
 * started and its services brought back if it was stopped. Whatever fails later (a hanging boot script, a grader
 * that breaks) leaves the snapshot and diff in place, and the grading is stored with its error (shown as such,
 * never as a fail).
 */
export async function finalGrade(ctx: AttemptContext, attempt: Attempt): Promise<void> {
  const { grading, log, driver, runner, catalog, repo } = ctx.deps;
  const { artifacts } = ctx;
  // The version the attempt was provisioned from (an invite's pinned one): its checks grade it.
  const exercise = catalog.forAttempt(attempt);
  if (!exercise || (await grading.final(attempt.id))) return;
  // Only the attempt's owner grades it (fenced: another replica that took it over meanwhile grades it instead).
  if (!(await ctx.ownership.confirm(attempt.id))) {
    log.warn({ attemptId: attempt.id }, 'final grading left to the replica that owns the attempt now');
    return;
  }
  const startedAt = Date.now();
  const info = attempt.sandboxId ? await driver.inspect(attempt.sandboxId).catch(() => null) : null;

  // 1. The evidence. A final snapshot kept from an interrupted ending (a server restart) is not taken again.
  // It is streamed to disk, never held whole in memory; past the size limit it is stored cut, with a note the
  // diff (and so the review) shows.
  let snapshotFile = artifacts.snapshotPath(attempt.id, 'final');
  if (!snapshotFile && info) {
    try {
      const written = await artifacts.writeSnapshot(attempt.id, 'final', (file) =>
        runner.snapshotToFile(info.id, evidencePaths(exercise), file),
      );
      snapshotFile = artifacts.snapshotPath(attempt.id, 'final');
      await repo.addEvent(attempt.id, 'snapshot-kept', written.cut ? { bytes: written.bytes, cut: true } : { bytes: written.bytes });
      if (written.cut) log.warn({ attemptId: attempt.id, bytes: written.bytes }, 'final snapshot cut at its size limit');
    } catch (err) {
      log.error({ attemptId: attempt.id, err: firstLine((err as Error).message) }, 'final snapshot failed');
    }
  }
  if (snapshotFile && !artifacts.snapshotDiff(attempt.id)) {
    // The diff reads both stored snapshots from disk on its worker thread.
    const initial = artifacts.snapshotPath(attempt.id, 'initial');
    try {
      if (initial) artifacts.saveDiff(attempt.id, await runner.diff(initial, snapshotFile));
    } catch (err) {
      log.error({ attemptId: attempt.id, err: firstLine((err as Error).message) }, 'final diff failed');
    }
  }
  if (exercise.checks.length === 0) return;

  // 2. The grading, in its turn in the server's grading queue (final gradings go first, and are never refused).
  const queued = <T>(work: () => Promise<T>) =>
    ctx.gradingQueue.run({ kind: 'final', attemptId: attempt.id, containers: gradingContainers(exercise) }, work);
  try {
    const variant = { params: attempt.params, seed: attempt.seed ?? '' };
    let outcome;
    // The stored snapshot graded, where the checks only read files.
    const fromSnapshot = exercise.probe ? null : snapshotFile;
    if (fromSnapshot) {
      outcome = await queued(() => runner.grade(info?.id ?? null, exercise, variant, attempt.id, fromSnapshot));
    } else {
      if (!info) throw new Error('the sandbox was gone before the final grading');
      // Probes grade services and live state as they are. A stopped container (the shell exited) is started and
      // its exercise services brought back, as a restart of the shell would.
      if (info.runState !== 'running') {
        await driver.start(info.id);
        await runner.boot(info.id);
      }
      outcome = await queued(() => runner.grade(info.id, exercise, variant, attempt.id));
    }
    await grading.insert({
      attemptId: attempt.id,
      kind: 'final',
      ...outcome,
      error: null,
      exerciseVersion: exercise.version,
      source: fromSnapshot ? 'snapshot' : 'sandbox',
    });
    const ms = outcome.finishedAt - outcome.startedAt;
    await repo.addEvent(attempt.id, 'graded', { score: outcome.score, maxScore: outcome.maxScore, ms });
    log.info({ attemptId: attempt.id, score: outcome.score, maxScore: outcome.maxScore, ms }, 'final grading done');
  } catch (err) {
    if (err instanceof FinalGradingExistsError) {
      // Another replica, which took the attempt over while this one graded, stored its grading first.
      log.warn({ attemptId: attempt.id }, 'final grading already stored by another replica');
      return;
    }
    const message = firstLine((err as Error).message);
    log.error({ attemptId: attempt.id, err: message }, 'final grading failed');
    if (!(await grading.final(attempt.id))) {
      const stored = await grading.insert({
        attemptId: attempt.id,
        kind: 'final',
        startedAt,
        finishedAt: Date.now(),
        score: 0,
        maxScore: 0,
        results: [],
        cleanroom: [],
        error: message,
        exerciseVersion: exercise.version,
      }).catch((insertErr: Error) => {
        if (insertErr instanceof FinalGradingExistsError) return null;
        throw insertErr;
      });
      if (!stored) return;
    }
  }
  await ctx.deps.events?.publish({ type: 'attempt.graded', attempt, run: (await grading.final(attempt.id))! });
}
