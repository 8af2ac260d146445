/**
 * Failed sign-ins per key (an email, a client address) in a sliding window, in memory: a restart forgets them,
 * which is fine for slowing down guessing.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private lastSweep = 0;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Seconds until one more attempt is allowed for every key, or 0 when it is allowed now. */
  retryAfterSeconds(keys: readonly string[]): number {
    const now = this.now();
    let waitMs = 0;
    for (const key of keys) {
      const recent = this.recent(key, now);
      if (recent.length >= this.max) {
        // The failure that has to leave the window before the count drops below the limit.
        const blocking = recent[recent.length - this.max]!;
        waitMs = Math.max(waitMs, blocking + this.windowMs - now);
      }
    }
    return waitMs > 0 ? Math.max(1, Math.ceil(waitMs / 1000)) : 0;
  }

  /**
   * Counts an attempt as a failure before it is checked (a password hash takes a while: concurrent guesses must
   * not all pass the limit before any of them is counted). Call the function returned when it succeeded.
   */
  reserve(keys: readonly string[]): () => void {
    const at = this.now();
    this.fail(keys, at);
    return () => {
      for (const key of keys) {
        const times = this.failures.get(key);
        const i = times?.lastIndexOf(at) ?? -1;
        if (times && i !== -1) times.splice(i, 1);
      }
    };
  }

  fail(keys: readonly string[], at = this.now()): void {
    const now = this.now();
    for (const key of keys) this.failures.set(key, [...this.recent(key, now), at]);
    this.sweep(now);
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => at > now - this.windowMs);
  }

  /** Drops keys whose failures all left the window, at most once per window. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [key, times] of this.failures) {
      if (times.every((at) => at <= now - this.windowMs)) this.failures.delete(key);
    }
  }
}
