/** After a failed preparation an exercise waits this long before the next try, doubled per failure up to the cap. */
export const RETRY_BASE_MS = 5_000;
export const RETRY_MAX_MS = 10 * 60_000;

/**
 * Per exercise, how long the warm pool waits after failed preparations before it tries again, and the one timer
 * that calls `retry` when the earliest wait is over.
 */
export class RetryBackoff {
  private readonly failures = new Map<string, number>();
  private readonly retryAt = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly retry: () => void) {}

  /** Whether the exercise is still waiting after a failure. */
  waiting(exerciseId: string, now: number): boolean {
    return now < (this.retryAt.get(exerciseId) ?? 0);
  }

  succeeded(exerciseId: string): void {
    this.failures.delete(exerciseId);
  }

  /** Counts a failure; returns how long the exercise now waits (ms). */
  failed(exerciseId: string): number {
    const n = (this.failures.get(exerciseId) ?? 0) + 1;
    this.failures.set(exerciseId, n);
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (n - 1));
    this.retryAt.set(exerciseId, Date.now() + delay);
    return delay;
  }

  /** (Re)sets the timer to the end of the earliest wait. */
  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    const next = Math.min(...this.retryAt.values()) - Date.now();
    this.timer = setTimeout(() => this.retry(), Math.max(0, next) + 10);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
