/**
 * The one queue every grading of the server goes through: final gradings (at submit or expiry), staff regrades and
 * the check runs a candidate or trainee asks for during an attempt (`checks`). At most `concurrency` run at once,
 * each with its grader and clean-room containers; the others wait in order of priority (final, then regrade, then
 * checks) and, within one, of arrival. Final gradings and regrades are never refused, only queued; a check run is
 * refused when `maxQueued` check runs already wait. Pure bookkeeping: no engine, no store.
 */

export type GradingKind = 'final' | 'regrade' | 'checks';

const PRIORITY: Record<GradingKind, number> = { final: 0, regrade: 1, checks: 2 };

export interface GradingTicket {
  kind: GradingKind;
  attemptId: string;
  /** Containers the grading holds at most at once (its grader, and one clean room when the exercise has any). */
  containers: number;
  /** Told how many gradings are ahead each time that changes while it waits, then `running` once it starts. */
  onPosition?(position: GradingPosition): void;
}

export type GradingPosition = { state: 'queued'; ahead: number } | { state: 'running' };

/**
 * The containers a grading of this exercise holds at most at once: its grader, and each clean-room job's (they run
 * side by side; a build job holds one container at a time, its step's or its run's).
 */
export function gradingContainers(exercise: { cleanroom: readonly unknown[] }): number {
  return 1 + exercise.cleanroom.length;
}

export interface GradingQueueOptions {
  concurrency: number;
  /** Check runs that may wait at once; one more is refused (GradingQueueFull). */
  maxQueued: number;
  /**
   * Whether `containers` more job containers fit on the machine now (sandboxes and gradings counted against
   * OPSLAB_MAX_SANDBOXES). Asked for regrades and check runs only: a final grading is never held back by it
   * (it ends an attempt and so frees its sandbox). Default: always. An answer that fails counts as no room.
   */
  hasRoom?: (containers: number) => boolean | Promise<boolean>;
  /** How soon a grading held back by hasRoom is tried again (ms). */
  retryMs?: number;
  now?: () => number;
}

export interface GradingQueueStats {
  concurrency: number;
  maxQueued: number;
  /** Gradings running now, and the containers they hold at most. */
  running: number;
  containers: number;
  /** Gradings waiting, in all and per kind. */
  queued: number;
  queuedByKind: Record<GradingKind, number>;
  /** How long the grading waiting longest has waited (ms); 0 when none waits. */
  oldestWaitMs: number;
  /** The most gradings that ever ran at once on this server. */
  peakRunning: number;
}

/** Refusal of a check run: too many wait already. */
export class GradingQueueFull extends Error {
  constructor(readonly waiting: number) {
    super(`the grading queue is full: ${waiting} check runs are waiting`);
    this.name = 'GradingQueueFull';
  }
}

interface Entry {
  ticket: GradingTicket;
  enqueuedAt: number;
  seq: number;
  lastAhead: number | null;
  start(): void;
}

export class GradingQueue {
  private readonly waiting: Entry[] = [];
  private readonly active = new Set<Entry>();
  private seq = 0;
  private peak = 0;
  private retry: NodeJS.Timeout | null = null;
  /** A pump waits for hasRoom's answer; another asked for meanwhile runs when it ends. */
  private pumping = false;
  private pumpAgain = false;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly opts: GradingQueueOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new Error('grading concurrency must be at least 1');
    this.now = opts.now ?? Date.now;
  }

  /**
   * Runs `work` when the ticket's turn comes; resolves or rejects with it. A check-run ticket past `maxQueued`
   * waiting ones is refused at once with GradingQueueFull (nothing is queued).
   */
  run<T>(ticket: GradingTicket, work: () => Promise<T>): Promise<T> {
    if (ticket.kind === 'checks') {
      const waitingChecks = this.waiting.filter((e) => e.ticket.kind === 'checks').length;
      if (waitingChecks >= this.opts.maxQueued) return Promise.reject(new GradingQueueFull(waitingChecks));
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        ticket,
        enqueuedAt: this.now(),
        seq: this.seq++,
        lastAhead: null,
        start: () => {
          this.active.add(entry);
          this.peak = Math.max(this.peak, this.active.size);
          notify(ticket, { state: 'running' });
          let result: Promise<T>;
          try {
            result = Promise.resolve(work());
          } catch (err) {
            result = Promise.reject(err);
          }
          result.then(resolve, reject).finally(() => {
            this.active.delete(entry);
            this.pump();
          });
        },
      };
      // After every waiting one of the same or a higher priority.
      const p = PRIORITY[ticket.kind];
      const at = this.waiting.findIndex((e) => PRIORITY[e.ticket.kind] > p);
      if (at < 0) this.waiting.push(entry);
      else this.waiting.splice(at, 0, entry);
      this.pump();
    });
  }

  /** Where an attempt's grading stands: waiting (with how many ahead), running, or null (none). */
  position(attemptId: string): GradingPosition | null {
    for (const e of this.active) if (e.ticket.attemptId === attemptId) return { state: 'running' };
    const i = this.waiting.findIndex((e) => e.ticket.attemptId === attemptId);
    return i < 0 ? null : { state: 'queued', ahead: i + this.active.size };
  }

  /** Containers the running gradings hold at most. */
  get containers(): number {
    let n = 0;
    for (const e of this.active) n += e.ticket.containers;
    return n;
  }

  stats(): GradingQueueStats {
    const queuedByKind: Record<GradingKind, number> = { final: 0, regrade: 0, checks: 0 };
    let oldest = Infinity;
    for (const e of this.waiting) {
      queuedByKind[e.ticket.kind]++;
      oldest = Math.min(oldest, e.enqueuedAt);
    }
    return {
      concurrency: this.opts.concurrency,
      maxQueued: this.opts.maxQueued,
      running: this.active.size,
      containers: this.containers,
      queued: this.waiting.length,
      queuedByKind,
      oldestWaitMs: this.waiting.length ? Math.max(0, this.now() - oldest) : 0,
      peakRunning: this.peak,
    };
  }

  /** Resolves once nothing waits or runs (tests, shutdown). */
  idle(): Promise<void> {
    if (this.active.size === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Starts what may start; tells the waiting ones where they stand. A final grading at the head starts at once; so
   * does one that hasRoom answers for at once. When hasRoom answers with a promise, the pump waits for it (one such
   * wait at a time: a pump asked for meanwhile runs when it ends) and takes the head only if it is still there.
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    while (this.active.size < this.opts.concurrency && this.waiting.length > 0) {
      const next = this.waiting[0]!;
      if (next.ticket.kind !== 'final' && this.opts.hasRoom) {
        const room = this.opts.hasRoom(next.ticket.containers);
        if (typeof room !== 'boolean') {
          this.pumping = true;
          this.pumpAgain = false;
          void room
            .catch(() => false)
            .then((fits) => {
              this.pumping = false;
              if (fits && this.waiting[0] === next && this.active.size < this.opts.concurrency) {
                this.waiting.shift();
                next.start();
              } else if (!fits && this.waiting[0] === next && !this.pumpAgain) {
                this.retryLater();
                this.tellPositions();
                return;
              }
              this.pump();
            });
          this.tellPositions();
          return;
        }
        if (!room) {
          this.retryLater();
          break;
        }
      }
      this.waiting.shift();
      next.start();
    }
    this.tellPositions();
  }

  /** Tells each waiting grading how many are ahead of it; wakes idle() once nothing waits or runs. */
  private tellPositions(): void {
    this.waiting.forEach((e, i) => {
      const ahead = i + this.active.size;
      if (e.lastAhead === ahead) return;
      e.lastAhead = ahead;
      notify(e.ticket, { state: 'queued', ahead });
    });
    if (this.active.size === 0 && this.waiting.length === 0) {
      for (const done of this.idleWaiters.splice(0)) done();
    }
  }

  private retryLater(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.pump();
    }, this.opts.retryMs ?? 1000);
    this.retry.unref();
  }
}

function notify(ticket: GradingTicket, position: GradingPosition): void {
  try {
    ticket.onPosition?.(position);
  } catch {
    /* a listener's failure is not the grading's */
  }
}
