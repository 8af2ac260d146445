import net from 'node:net';
import type { PracticeConfig } from '../config.js';
import { errors } from '../errors.js';

/**
 * Events per key in a sliding window, in memory (a restart forgets them, which is fine for slowing down a flood).
 * Keys whose events all left the window are dropped, at most once per window.
 */
class WindowCounter {
  private readonly events = new Map<string, number[]>();
  private lastSweep = 0;

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Milliseconds until one more event is allowed for the key, or 0 when it is allowed now. */
  waitMs(key: string, now: number): number {
    if (this.max === 0) return 0;
    const recent = this.recent(key, now);
    if (recent.length < this.max) return 0;
    return recent[recent.length - this.max]! + this.windowMs - now;
  }

  add(key: string, at: number): void {
    if (this.max === 0) return;
    this.events.set(key, [...this.recent(key, at), at]);
    this.sweep(at);
  }

  remove(key: string, at: number): void {
    const times = this.events.get(key);
    const i = times?.lastIndexOf(at) ?? -1;
    if (times && i !== -1) times.splice(i, 1);
  }

  private recent(key: string, now: number): number[] {
    return (this.events.get(key) ?? []).filter((at) => at > now - this.windowMs);
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [key, times] of this.events) {
      if (times.every((at) => at <= now - this.windowMs)) this.events.delete(key);
    }
  }
}

/**
 * The client a limit counts against: its address (from X-Forwarded-For only behind a trusted proxy, as sign-in
 * limits), an IPv6 client by its /64 (one host usually has a whole /64 to pick addresses from).
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (net.isIPv6(address)) {
    const [head, tail = ''] = address.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
    return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
  }
  return address;
}

/**
 * Per-client limits on practice starts (per minute and per hour) and on new anonymous trainees (per hour): each
 * request without a practice token would otherwise be a new trainee, with its own per-trainee allowance. A start
 * is counted before it runs (concurrent starts cannot all slip under the limit), and given back when it is
 * refused for want of room (capacity, storage), which the client did not cause.
 */
export class StartLimits {
  private readonly starts: { counter: WindowCounter; what: string }[];
  private readonly trainees: WindowCounter;

  constructor(
    config: Pick<PracticeConfig, 'startsPerMinute' | 'startsPerHour' | 'newTraineesPerHour'>,
    private readonly now: () => number = Date.now,
  ) {
    this.starts = [
      { counter: new WindowCounter(config.startsPerMinute, 60_000), what: 'practice starts' },
      { counter: new WindowCounter(config.startsPerHour, 3_600_000), what: 'practice starts' },
    ];
    this.trainees = new WindowCounter(config.newTraineesPerHour, 3_600_000);
  }

  /**
   * Counts a start (and a new trainee when `newTrainee`) for the client at `address`, or throws a 429 with
   * Retry-After when one of its limits is reached. Call the function returned to give the start back.
   */
  reserve(address: string, newTrainee: boolean): () => void {
    const key = clientKey(address);
    const at = this.now();
    const checks = [...this.starts, ...(newTrainee ? [{ counter: this.trainees, what: 'new practice sessions' }] : [])];
    for (const { counter, what } of checks) {
      const wait = counter.waitMs(key, at);
      if (wait > 0) throw errors.startRate(Math.max(1, Math.ceil(wait / 1000)), what);
    }
    for (const { counter } of checks) counter.add(key, at);
    return () => {
      for (const { counter } of checks) counter.remove(key, at);
    };
  }
}
