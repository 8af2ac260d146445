import { errors } from '../errors.js';
import { GradingQueueFull, gradingContainers, type GradingPosition } from '../grading/queue.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { StoredRun } from '../store/grading-repo.js';
import { MARKERS } from '../terminal/recorder.js';
import type { AttemptContext } from './context.js';

/** On-demand check runs: the default least time between the end of one and the start of the next. */
export const CHECK_INTERVAL_MS = 10_000;
/** How soon a check run refused by a full grading queue is worth asking for again. */
const QUEUE_FULL_RETRY_SECONDS = 15;

/** What a candidate may ask for during an attempt that allows it: check runs and hints. */
export class Feedback {
  /** When each attempt's last on-demand check run ended; a run waiting or in flight is in `running`. */
  private readonly lastRun = new Map<string, number>();
  private readonly running = new Set<string>();

  constructor(private readonly ctx: AttemptContext) {}

  /**
   * Runs the checks during the attempt, through the server's grading queue: at most one run per attempt waiting or
   * running, and OPSLAB_CHECK_INTERVAL_SECONDS from the end of one to the start of the next. While the run waits,
   * the attempt's terminal is told its place (the attempt view's `grading`).
   */
  async runChecks(id: string): Promise<StoredRun> {
    const { repo, grading, catalog, runner, config } = this.ctx.deps;
    const { pushes, gradingQueue } = this.ctx;
    const interval = config.grading?.checkIntervalMs ?? CHECK_INTERVAL_MS;
    const attempt = await repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    if (!attempt.feedback) throw errors.noFeedback();
    // The version the attempt was provisioned from: its checks fit its files.
    const exercise = catalog.forAttempt(attempt);
    if (!exercise || exercise.checks.length === 0) throw errors.noChecks();
    if (!attempt.sandboxId || attempt.sandboxStatus === 'missing') throw errors.sandboxMissing();
    const last = this.lastRun.get(id);
    const now = Date.now();
    if (this.running.has(id)) throw errors.checksTooSoon(Math.ceil(interval / 1000));
    if (last !== undefined && now - last < interval) {
      throw errors.checksTooSoon(Math.ceil((interval - (now - last)) / 1000));
    }
    this.running.add(id);
    // The candidate's browsers hear where the run stands, wherever the attempt's terminal is held.
    const tell = (position: GradingPosition) => pushes.send({ attemptId: id, refresh: true, grading: position });
    let outcome;
    try {
      outcome = await gradingQueue.run(
        { kind: 'checks', attemptId: id, containers: gradingContainers(exercise), onPosition: tell },
        async () => {
          // The attempt may have ended, or lost its sandbox, while the run waited.
          const now = await repo.get(id);
          if (!now || now.state !== 'running') throw errors.attemptNotRunning(now?.state ?? 'gone');
          if (!now.sandboxId || now.sandboxStatus === 'missing') throw errors.sandboxMissing();
          await pushes.send({ attemptId: id, marker: MARKERS.checks });
          return runner.grade(now.sandboxId, exercise, { params: now.params, seed: now.seed ?? '' }, id);
        },
      );
      this.lastRun.set(id, Date.now());
    } catch (err) {
      if (err instanceof GradingQueueFull) throw errors.gradingBusy(err.waiting, QUEUE_FULL_RETRY_SECONDS);
      this.lastRun.set(id, Date.now());
      throw err;
    } finally {
      this.running.delete(id);
      // As before the run's place was pushed: an attempt that ended meanwhile is not shown as running again.
      if ((await repo.get(id))?.state === 'running') await pushes.send({ attemptId: id, refresh: true });
    }
    const run = await grading.insert({ attemptId: id, kind: 'progress', ...outcome, error: null, exerciseVersion: exercise.version });
    await pushes.send({ attemptId: id, marker: `${MARKERS.checks}: ${outcome.score}/${outcome.maxScore}` });
    await repo.addEvent(id, 'checks', { score: outcome.score, maxScore: outcome.maxScore });
    return run;
  }

  /** Reveals the next hint (recorded in the attempt) and returns every hint revealed so far. */
  async revealHint(id: string): Promise<{ revealed: string[]; total: number }> {
    const { repo, catalog } = this.ctx.deps;
    const attempt = await repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    if (!attempt.feedback) throw errors.noFeedback();
    const hints = catalog.forAttempt(attempt)?.hints ?? [];
    if (attempt.hintsRevealed >= hints.length) throw errors.noMoreHints();
    const n = attempt.hintsRevealed + 1;
    await repo.update(id, { hintsRevealed: n }, ['running']);
    await repo.addEvent(id, 'hint', { n });
    await this.ctx.pushes.send({ attemptId: id, marker: `${MARKERS.hint} ${n}` });
    return { revealed: hints.slice(0, n), total: hints.length };
  }

  hints(attempt: Attempt): { revealed: string[]; total: number } {
    if (!attempt.feedback) return { revealed: [], total: 0 };
    const hints = this.ctx.deps.catalog.forAttempt(attempt)?.hints ?? [];
    return { revealed: hints.slice(0, attempt.hintsRevealed), total: hints.length };
  }

  /** The attempt was deleted. */
  forget(id: string): void {
    this.lastRun.delete(id);
  }
}
