import type { Attempt } from '../store/attempts-repo.js';
import { firstLine, type AttemptContext } from './context.js';

/**
 * The final grading and the snapshot of what changed, taken while the sandbox still exists. A grading that
 * cannot be carried out is stored with its error (shown as such, never as a fail). Exercises without checks
 * still get the snapshot of what changed.
 */
export async function finalGrade(ctx: AttemptContext, attempt: Attempt): Promise<void> {
  const { grading, log, driver, runner, catalog, repo } = ctx.deps;
  const { artifacts } = ctx;
  const exercise = catalog.get(attempt.exerciseId);
  if (!exercise || grading.final(attempt.id)) return;
  const startedAt = Date.now();
  try {
    const info = attempt.sandboxId ? await driver.inspect(attempt.sandboxId) : null;
    if (!info) throw new Error('the sandbox was gone before the final grading');
    // Services and live state are graded as they are. A stopped container (the shell exited) is started and
    // its exercise services brought back, as a restart of the shell would: probes need them running.
    if (info.runState !== 'running') {
      await driver.start(info.id);
      await runner.boot(info.id);
    }
    if (exercise.checks.length > 0) {
      const variant = { params: attempt.params, seed: attempt.seed ?? '' };
      const outcome = await runner.grade(info.id, exercise, variant, attempt.id);
      grading.insert({ attemptId: attempt.id, kind: 'final', ...outcome, error: null });
      const ms = outcome.finishedAt - outcome.startedAt;
      repo.addEvent(attempt.id, 'graded', { score: outcome.score, maxScore: outcome.maxScore, ms });
      log.info({ attemptId: attempt.id, score: outcome.score, maxScore: outcome.maxScore, ms }, 'final grading done');
    }
    const initial = artifacts.loadSnapshot(attempt.id, 'initial');
    const final = await runner.snapshot(info.id, exercise.collect);
    artifacts.saveSnapshot(attempt.id, 'final', final);
    if (initial) artifacts.saveDiff(attempt.id, await runner.diff(initial, final));
  } catch (err) {
    const message = firstLine((err as Error).message);
    log.error({ attemptId: attempt.id, err: message }, 'final grading failed');
    if (exercise.checks.length > 0 && !grading.final(attempt.id)) {
      grading.insert({
        attemptId: attempt.id,
        kind: 'final',
        startedAt,
        finishedAt: Date.now(),
        score: 0,
        maxScore: 0,
        results: [],
        cleanroom: [],
        error: message,
      });
    }
  }
}
