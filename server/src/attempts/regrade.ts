import { errors } from '../errors.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { StoredRun } from '../store/grading-repo.js';
import { gradingContainers } from '../grading/queue.js';
import { firstLine, type AttemptContext } from './context.js';

/** States in which an attempt's work is over and its final snapshot kept. */
const ENDED = ['submitted', 'expired', 'archived'] as const;

/**
 * Re-runs the final grading of ended attempts from their stored final snapshots, with the exercise's current
 * checks (after a check was fixed, say). Every grading is kept: the latest is the current one, the review shows
 * the history and what changed. One regrade at a time enters the server's grading queue (where final gradings go
 * before it, and check runs after), the others wait their turn here.
 */
export class Regrader {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pending = new Set<string>();

  constructor(private readonly ctx: AttemptContext) {}

  /** Why the attempt cannot be regraded, or null. */
  refusal(attempt: Attempt): string | null {
    const exercise = this.ctx.deps.catalog.get(attempt.exerciseId);
    if (!(ENDED as readonly string[]).includes(attempt.state)) return `it is ${attempt.state}, not ended.`;
    if (!exercise) return `its exercise (${attempt.exerciseId}) is no longer in the catalog.`;
    if (exercise.checks.length === 0) return 'its exercise has no checks.';
    if (exercise.probe) return "its exercise's checks probe the running sandbox, which is gone; only its first grading counts.";
    if (!this.ctx.artifacts.snapshotPath(attempt.id, 'final')) return 'no final snapshot of its files was kept.';
    if (this.pending.has(attempt.id)) return 'a regrade of it is already waiting or running.';
    return null;
  }

  /** Regrades one attempt and answers with the new current grading. */
  async regrade(attemptId: string, requestedBy: string): Promise<StoredRun> {
    const attempt = await this.ctx.deps.repo.get(attemptId);
    if (!attempt) throw errors.attemptNotFound();
    const why = this.refusal(attempt);
    if (why) throw errors.notRegradable(why);
    return this.enqueue(attempt, requestedBy);
  }

  /** Queues a regrade of every ended attempt of an exercise that can be; answers with what was queued and left. */
  async regradeExercise(exerciseId: string, requestedBy: string): Promise<{ queued: string[]; skipped: { attemptId: string; reason: string }[] }> {
    if (!this.ctx.deps.catalog.get(exerciseId)) throw errors.exerciseNotFound(exerciseId);
    const queued: string[] = [];
    const skipped: { attemptId: string; reason: string }[] = [];
    for (const attempt of await this.ctx.deps.repo.listByExercise(exerciseId, ENDED)) {
      const why = this.refusal(attempt);
      if (why) {
        skipped.push({ attemptId: attempt.id, reason: why });
        continue;
      }
      queued.push(attempt.id);
      this.enqueue(attempt, requestedBy).catch(() => undefined);
    }
    return { queued, skipped };
  }

  /** Resolves once everything queued so far has run (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue.then(() => undefined);
  }

  private enqueue(attempt: Attempt, requestedBy: string): Promise<StoredRun> {
    this.pending.add(attempt.id);
    const run = this.queue.then(() => this.run(attempt, requestedBy)).finally(() => this.pending.delete(attempt.id));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(attempt: Attempt, requestedBy: string): Promise<StoredRun> {
    const { catalog, runner, grading, repo, log } = this.ctx.deps;
    const exercise = catalog.get(attempt.exerciseId);
    const file = this.ctx.artifacts.snapshotPath(attempt.id, 'final');
    if (!exercise || !file) throw errors.notRegradable('its exercise or its final snapshot went away.');
    const startedAt = Date.now();
    const base = { attemptId: attempt.id, kind: 'final' as const, exerciseVersion: exercise.version, source: 'snapshot' as const, requestedBy };
    let stored: StoredRun;
    try {
      const outcome = await this.ctx.gradingQueue.run(
        { kind: 'regrade', attemptId: attempt.id, containers: gradingContainers(exercise) },
        () => runner.grade(null, exercise, { params: attempt.params, seed: attempt.seed ?? '' }, attempt.id, file),
      );
      stored = await grading.insert({ ...base, ...outcome, error: null });
    } catch (err) {
      const message = firstLine((err as Error).message);
      log.error({ attemptId: attempt.id, err: message }, 'regrade failed');
      stored = await grading.insert({ ...base, startedAt, finishedAt: Date.now(), score: 0, maxScore: 0, results: [], cleanroom: [], error: message });
    }
    await this.ctx.deps.events?.publish({ type: 'attempt.graded', attempt, run: stored });
    await repo.addEvent(attempt.id, 'regraded', { score: stored.score, maxScore: stored.maxScore, exerciseVersion: exercise.version, by: requestedBy, error: stored.error });
    log.info({ attemptId: attempt.id, score: stored.score, maxScore: stored.maxScore, by: requestedBy }, 'regrade done');
    return stored;
  }
}
