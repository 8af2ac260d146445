import type { Logger } from '../sandbox/notices.js';
import type { Attempt } from '../store/attempts-repo.js';

/** setTimeout cannot wait longer than this; longer deadlines are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DeadlineTimersDeps {
  /** The attempt as stored now. */
  load(attemptId: string): Promise<Attempt | undefined>;
  /** A running attempt's deadline has passed: it expires. */
  expire(attemptId: string): Promise<unknown>;
  log: Logger;
}

/**
 * One timer per running attempt, at its deadline. When it fires, the stored deadline decides (it may have been
 * extended meanwhile). The reconciler expires what a timer missed (a server that was down).
 */
export class DeadlineTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly deps: DeadlineTimersDeps) {}

  arm(attempt: Attempt): void {
    if (attempt.deadline === null || this.stopped) return;
    this.clear(attempt.id);
    const delay = Math.max(0, attempt.deadline - Date.now());
    const timer = setTimeout(
      () => {
        this.timers.delete(attempt.id);
        const fire = async () => {
          const current = await this.deps.load(attempt.id);
          if (!current || current.state !== 'running' || current.deadline === null || this.stopped) return;
          if (current.deadline > Date.now()) return this.arm(current);
          await this.deps.expire(attempt.id);
        };
        fire().catch((err: Error) => this.deps.log.error({ attemptId: attempt.id, err: err.message }, 'expiry failed'));
      },
      Math.min(delay, MAX_TIMER_MS),
    );
    timer.unref();
    this.timers.set(attempt.id, timer);
  }

  clear(attemptId: string): void {
    const timer = this.timers.get(attemptId);
    if (timer) clearTimeout(timer);
    this.timers.delete(attemptId);
  }

  /** Clears every timer; none is armed from now on. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
