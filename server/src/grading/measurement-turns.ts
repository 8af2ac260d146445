// Measurements take turns: a clean-room job marked `alone` (a measurement of timing) runs with no other measurement
// of this server process beside it, whichever grading either belongs to, in the order they asked.
//
// Two measurements side by side load a small machine with both loads at once, and each sees the other as stalls of
// its own. Other work (checks, copies, other clean-room jobs) is lighter and runs at the measurement's CPU weight or
// below, and a measurement that notices stalls measures again: holding that work back too made every grading wait
// through the others' measurements without making re-measuring rarer.

export class Turns {
  private busy = false;
  private readonly queue: (() => void)[] = [];

  /** Runs `fn` once every turn asked for before it has ended. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy || this.queue.length > 0) await new Promise<void>((go) => this.queue.push(go));
    else this.busy = true;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.busy = false;
    }
  }

  /** Whether a turn is running, and how many wait (for tests and logs). */
  state(): { busy: boolean; waiting: number } {
    return { busy: this.busy, waiting: this.queue.length };
  }
}

/** The turns every measurement of this process takes. */
export const measurementTurns = new Turns();
