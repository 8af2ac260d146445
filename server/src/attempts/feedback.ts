import { errors } from '../errors.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { StoredRun } from '../store/grading-repo.js';
import { MARKERS } from '../terminal/recorder.js';
import type { AttemptContext } from './context.js';

/** On-demand check runs: at most one at a time per attempt, and this long between two starts. */
export const CHECK_INTERVAL_MS = 10_000;

/** What a candidate may ask for during an attempt that allows it: check runs and hints. */
export class Feedback {
  /** When each attempt's last on-demand check run started or ended; a run in flight is in `running`. */
  private readonly lastRun = new Map<string, number>();
  private readonly running = new Set<string>();

  constructor(private readonly ctx: AttemptContext) {}

  /** Runs the checks now, during the attempt (at most one run at a time, CHECK_INTERVAL_MS apart). */
  async runChecks(id: string): Promise<StoredRun> {
    const { repo, grading, catalog, runner } = this.ctx.deps;
    const { terminals } = this.ctx;
    const attempt = repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    if (!attempt.feedback) throw errors.noFeedback();
    const exercise = catalog.get(attempt.exerciseId);
    if (!exercise || exercise.checks.length === 0) throw errors.noChecks();
    if (!attempt.sandboxId || attempt.sandboxStatus === 'missing') throw errors.sandboxMissing();
    const last = this.lastRun.get(id);
    const now = Date.now();
    if (this.running.has(id)) throw errors.checksTooSoon(Math.ceil(CHECK_INTERVAL_MS / 1000));
    if (last !== undefined && now - last < CHECK_INTERVAL_MS) {
      throw errors.checksTooSoon(Math.ceil((CHECK_INTERVAL_MS - (now - last)) / 1000));
    }
    this.lastRun.set(id, now);
    this.running.add(id);
    terminals.get(id)?.marker(MARKERS.checks);
    const outcome = await runner
      .grade(attempt.sandboxId, exercise, { params: attempt.params, seed: attempt.seed ?? '' }, id)
      .finally(() => {
        this.running.delete(id);
        this.lastRun.set(id, Date.now());
      });
    const run = grading.insert({ attemptId: id, kind: 'progress', ...outcome, error: null });
    terminals.get(id)?.marker(`${MARKERS.checks}: ${outcome.score}/${outcome.maxScore}`);
    repo.addEvent(id, 'checks', { score: outcome.score, maxScore: outcome.maxScore });
    return run;
  }

  /** Reveals the next hint (recorded in the attempt) and returns every hint revealed so far. */
  revealHint(id: string): { revealed: string[]; total: number } {
    const { repo, catalog } = this.ctx.deps;
    const attempt = repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    if (!attempt.feedback) throw errors.noFeedback();
    const hints = catalog.get(attempt.exerciseId)?.hints ?? [];
    if (attempt.hintsRevealed >= hints.length) throw errors.noMoreHints();
    const n = attempt.hintsRevealed + 1;
    repo.update(id, { hintsRevealed: n }, ['running']);
    repo.addEvent(id, 'hint', { n });
    this.ctx.terminals.get(id)?.marker(`${MARKERS.hint} ${n}`);
    return { revealed: hints.slice(0, n), total: hints.length };
  }

  hints(attempt: Attempt): { revealed: string[]; total: number } {
    if (!attempt.feedback) return { revealed: [], total: 0 };
    const hints = this.ctx.deps.catalog.get(attempt.exerciseId)?.hints ?? [];
    return { revealed: hints.slice(0, attempt.hintsRevealed), total: hints.length };
  }

  /** The attempt was deleted. */
  forget(id: string): void {
    this.lastRun.delete(id);
  }
}
