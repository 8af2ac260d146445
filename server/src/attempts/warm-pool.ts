import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { evidencePaths, type ExerciseCatalog } from '../exercises/catalog.js';
import { drawVariant, newSeed } from '../exercises/variants.js';
import { bringUp } from '../sandbox/bring-up.js';
import type { SandboxDriver } from '../sandbox/sandbox-driver.js';
import type { TerminalSession } from '../terminal/terminal-session.js';
import type { ExerciseRunner } from './exercise-runner.js';
import { RetryBackoff } from './retry-backoff.js';
import {
  counted,
  evictionVictim,
  newSlot,
  toPooled,
  type Entry,
  type PooledSandbox,
  type WarmPoolStatus,
} from './warm-pool-entries.js';

export type { PooledSandbox, WarmPoolStatus } from './warm-pool-entries.js';
export { RETRY_BASE_MS, RETRY_MAX_MS } from './retry-backoff.js';

/** The terminal size a pooled shell is given at once; an attempt's terminal opens at the same size (no redraw). */
export const POOL_TTY = { cols: 80, rows: 24 } as const;
/** Sandboxes prepared at the same time, over all exercises: setup scripts are heavy and attempts come first. */
export const PREPARE_CONCURRENCY = 2;

export interface WarmPoolLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface WarmPoolDeps {
  config: Pick<Config, 'maxSandboxes' | 'sandbox' | 'warmPool'>;
  driver: SandboxDriver;
  runner: ExerciseRunner;
  catalog: ExerciseCatalog;
  log: WarmPoolLogger;
  imageRef: (image: string) => string;
  /** Sandboxes that attempts hold now: they and the pool share OPSLAB_MAX_SANDBOXES. */
  holding: () => number | Promise<number>;
  /** The replica whose pool this is: its slots are named after it, so that other replicas leave them alone. */
  replica: string;
}

/**
 * Warm pools: per exercise, a configured number of sandboxes already created, started and set up, each with its shell
 * running and attached. An attempt's start takes one (`take`) and makes it its own; the pool refills in the background.
 *
 * What is personal to an attempt is applied when it claims the sandbox: its id (the container is named and labelled
 * by its pool slot, and the attempt records the sandbox's id), its recording and terminal (opened at the claim; the
 * output of the shell before it is dropped), its token and clock. A sandbox leaves the pool when it is claimed and is
 * never handed out again: after the attempt it is removed like any other.
 *
 * The variant: setup depends on the parameters drawn from a random seed. The pool draws that seed when it prepares
 * the sandbox, so setup can run before anyone asks, and the attempt that claims the sandbox takes the seed with it.
 * This is as safe as drawing it at the attempt's start: the seed is fresh randomness, nobody sees it before the
 * claim, and each pooled sandbox (hence each seed) goes to exactly one attempt.
 *
 * Capacity: pooled sandboxes (queued, preparing, ready) count against OPSLAB_MAX_SANDBOXES together with attempts; the
 * pool only grows into room that attempts leave free, and when the machine is full the attempt service evicts pooled
 * sandboxes first (`evictOne`). Idle: a sandbox nobody claimed for OPSLAB_WARM_POOL_IDLE_MINUTES is removed, and its
 * exercise is not refilled until someone starts it again.
 *
 * Restarts: pooled sandboxes are removed when the server stops. One left by a server that died is an orphan for the
 * next server's reconciler (its slot is unknown to the new pool), unless an attempt had claimed it: that attempt's
 * row names the sandbox, so it is adopted like any attempt's.
 */
export class WarmPool {
  private readonly entries = new Map<string, Entry>();
  private readonly targets = new Map<string, number>();
  /** Exercises whose pool was shrunk for idleness: not refilled until the next start of the exercise. */
  private readonly dormant = new Set<string>();
  private readonly backoff = new RetryBackoff(() => this.fill());
  private preparing = 0;
  private started = false;
  private stopped = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private fillScheduled = false;
  /** Removals and preparations in flight (shutdown waits for them). */
  private readonly removals = new Set<Promise<void>>();
  private readonly preparations = new Set<Promise<void>>();

  constructor(private readonly deps: WarmPoolDeps) {
    const { size, perExercise } = deps.config.warmPool;
    for (const exercise of deps.catalog.list()) {
      const n = perExercise[exercise.id] ?? size;
      if (n > 0) this.targets.set(exercise.id, n);
    }
    for (const id of Object.keys(perExercise)) {
      if (!deps.catalog.get(id)) {
        deps.log.warn({ exerciseId: id }, `OPSLAB_WARM_POOL names exercise "${id}", which is not in the catalog: ignored`);
      }
    }
  }

  /** Whether any exercise keeps a pool. */
  get enabled(): boolean {
    return this.targets.size > 0;
  }

  /** Sandboxes the pool holds against the capacity (queued, preparing and ready; not claimed or leaving ones). */
  get size(): number {
    let n = 0;
    for (const e of this.entries.values()) if (counted(e)) n++;
    return n;
  }

  /** Per exercise with a pool: its target and what it holds. */
  status(): WarmPoolStatus[] {
    return [...this.targets].map(([exerciseId, target]) => {
      const mine = [...this.entries.values()].filter((e) => e.exerciseId === exerciseId);
      return {
        exerciseId,
        target,
        ready: mine.filter((e) => e.state === 'ready').length,
        preparing: mine.filter((e) => e.state === 'queued' || e.state === 'preparing').length,
        dormant: this.dormant.has(exerciseId),
      };
    });
  }

  /** Whether this pool looks after the sandbox of this slot (the reconciler leaves those alone). */
  owns(slot: string): boolean {
    return this.entries.has(slot);
  }

  /** Starts filling the pools (after the first reconciliation removed what a previous server left). */
  start(): void {
    if (this.started || this.stopped || !this.enabled) return;
    this.started = true;
    const idleMs = this.deps.config.warmPool.idleMs;
    if (idleMs > 0) {
      this.idleTimer = setInterval(() => this.shrinkIdle(), Math.max(1000, Math.min(60_000, Math.floor(idleMs / 4))));
      this.idleTimer.unref();
    }
    this.fill();
  }

  /**
   * An attempt of this exercise is starting: hands it the oldest ready sandbox, or null. Synchronous, so that the
   * sandbox is either the pool's or the attempt's at every moment. Wakes a dormant pool and schedules the refill.
   */
  take(exerciseId: string): PooledSandbox | null {
    if (!this.targets.has(exerciseId) || this.stopped) return null;
    this.dormant.delete(exerciseId);
    let oldest: Entry | null = null;
    for (const e of this.entries.values()) {
      if (e.exerciseId === exerciseId && e.state === 'ready' && (!oldest || e.readyAt! < oldest.readyAt!)) oldest = e;
    }
    this.scheduleFill();
    if (!oldest) return null;
    oldest.state = 'claimed';
    return toPooled(oldest);
  }

  /** The claim did not go ahead (no room for the attempt): the untouched sandbox is ready again. */
  putBack(pooled: PooledSandbox): void {
    const e = this.entries.get(pooled.slot);
    if (!e || e.state !== 'claimed') return;
    if (this.stopped) return void this.drop(e);
    e.state = 'ready';
  }

  /**
   * The claiming attempt takes the shell: returns the live session (nothing listens to it any more) and the pool
   * forgets the sandbox. Call it in the same tick as attaching the session, so that no output is lost.
   */
  handOver(pooled: PooledSandbox): TerminalSession {
    const e = this.entries.get(pooled.slot);
    if (!e || e.state !== 'claimed' || !e.session) throw new Error(`pooled sandbox ${pooled.slot} is not claimed`);
    this.entries.delete(e.slot);
    e.stopDraining?.();
    return e.session;
  }

  /** A claim failed before `handOver`: the pool lets go of the sandbox (the attempt service removes it). */
  forget(pooled: PooledSandbox): void {
    const e = this.entries.get(pooled.slot);
    if (!e || e.state !== 'claimed') return;
    this.entries.delete(e.slot);
    e.stopDraining?.();
    e.session?.close();
  }

  /**
   * The machine is full: gives up one pooled sandbox (a queued one if any, else the oldest ready one of the exercise
   * with the most, else one being prepared). Resolves true once it is gone, false when the pool holds none.
   */
  async evictOne(): Promise<boolean> {
    const victim = evictionVictim(this.entries.values());
    if (!victim) return false;
    this.deps.log.info({ exerciseId: victim.exerciseId, slot: victim.slot }, 'warm pool gives up a sandbox to make room');
    await this.drop(victim);
    return true;
  }

  /** Tops the pools up to their targets, within the room attempts leave free (in the background). */
  fill(): void {
    if (!this.started || this.stopped) return;
    void this.fillNow().catch((err: Error) => this.deps.log.warn({ err: err.message }, 'warm pool could not count the room left'));
  }

  private async fillNow(): Promise<void> {
    const holding = await this.deps.holding();
    if (!this.started || this.stopped) return;
    const now = Date.now();
    const room = () => holding + this.size < this.deps.config.maxSandboxes;
    // Round-robin over the exercises, one sandbox each per round, so that one exercise cannot take all the room.
    let added = true;
    while (added) {
      added = false;
      for (const [exerciseId, target] of this.targets) {
        if (this.dormant.has(exerciseId) || this.backoff.waiting(exerciseId, now)) continue;
        if (this.countFor(exerciseId) >= target || !room()) continue;
        this.enqueue(exerciseId);
        added = true;
      }
    }
    this.pump();
  }

  /** Removes ready sandboxes nobody claimed within the idle time; their exercises wait for the next start. */
  shrinkIdle(now = Date.now()): string[] {
    const idleMs = this.deps.config.warmPool.idleMs;
    if (idleMs <= 0) return [];
    const removed: string[] = [];
    for (const e of [...this.entries.values()]) {
      if (e.state !== 'ready' || now - e.readyAt! < idleMs) continue;
      this.dormant.add(e.exerciseId);
      removed.push(e.sandboxId!);
      this.deps.log.info({ exerciseId: e.exerciseId, sandboxId: e.sandboxId }, 'warm pool: removing an idle sandbox');
      void this.drop(e);
    }
    return removed;
  }

  /** Waits until every exercise's pool is at its target with ready sandboxes (benchmarks and tests). */
  async whenReady(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const short = this.status().filter((s) => !s.dormant && s.ready < s.target);
      if (short.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`warm pool not ready within ${timeoutMs} ms: ${JSON.stringify(short)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops filling and removes every pooled sandbox that no attempt claimed. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.backoff.stop();
    for (const e of [...this.entries.values()]) if (e.state !== 'claimed') void this.drop(e);
    while (this.removals.size > 0 || this.preparations.size > 0) {
      await Promise.allSettled([...this.removals, ...this.preparations]);
    }
  }

  private countFor(exerciseId: string): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.exerciseId === exerciseId && counted(e)) n++;
    return n;
  }

  private enqueue(exerciseId: string): void {
    const exercise = this.deps.catalog.get(exerciseId)!;
    const seed = newSeed();
    const slot = newSlot(this.deps.replica, randomBytes(8).toString('hex'));
    this.entries.set(slot, {
      slot,
      exerciseId,
      state: 'queued',
      seed,
      params: drawVariant(exercise.variants, seed),
      sandboxId: null,
      session: null,
      stopDraining: null,
      snapshot: null,
      readyAt: null,
    });
  }

  private pump(): void {
    if (this.stopped) return;
    for (const e of this.entries.values()) {
      if (this.preparing >= PREPARE_CONCURRENCY) return;
      if (e.state !== 'queued') continue;
      e.state = 'preparing';
      this.preparing++;
      const preparation: Promise<void> = this.prepare(e).finally(() => {
        this.preparing--;
        this.preparations.delete(preparation);
        this.pump();
      });
      this.preparations.add(preparation);
    }
  }

  private scheduleFill(): void {
    if (this.fillScheduled) return;
    this.fillScheduled = true;
    // After the claiming attempt's row exists, so that the refill counts it.
    setImmediate(() => {
      this.fillScheduled = false;
      this.fill();
    });
  }

  /** Creates, starts, attaches and sets up one sandbox; on any failure (or when evicted meanwhile) it is removed. */
  private async prepare(e: Entry): Promise<void> {
    const { driver, runner, config, catalog, imageRef, log } = this.deps;
    const exercise = catalog.get(e.exerciseId)!;
    const t0 = Date.now();
    const evicted = () => e.state !== 'preparing';
    try {
      const up = await bringUp(
        { driver, policy: config.sandbox, imageRef },
        {
          exercise,
          owner: { attemptId: '', pool: e.slot },
          attach: 'after-start',
          onCreated: (sandboxId) => {
            e.sandboxId = sandboxId;
          },
          onAttached: (session) => {
            e.session = session;
            // Nobody watches the shell until an attempt claims it: what it prints meanwhile is dropped.
            e.stopDraining = session.onData(() => undefined);
            void session.ended.then(() => this.onShellEnded(e, session));
          },
          setup: async (sandboxId) => {
            await e.session!.resize(POOL_TTY.cols, POOL_TTY.rows);
            await runner.provision(sandboxId, exercise, { params: e.params, seed: e.seed });
          },
          snapshot: (sandboxId) => runner.snapshot(sandboxId, evidencePaths(exercise)),
          wanted: () => !evicted(),
        },
      );
      e.snapshot = await up.snapshot!;
      e.state = 'ready';
      e.readyAt = Date.now();
      this.backoff.succeeded(exercise.id);
      log.info({ exerciseId: exercise.id, sandboxId: e.sandboxId, ms: e.readyAt - t0 }, 'warm pool: sandbox ready');
    } catch (err) {
      // (Also where a preparation given up by `wanted` ends.)
      if (evicted()) return await this.cleanUp(e);
      this.failed(exercise.id, (err as Error).message);
      await this.drop(e);
    }
  }

  /** An entry dropped while it was being prepared: whatever the preparation made since goes too (idempotent). */
  private async cleanUp(e: Entry): Promise<void> {
    e.stopDraining?.();
    e.session?.close();
    if (e.sandboxId) await this.removeSandbox(e.sandboxId);
  }

  private onShellEnded(e: Entry, session: TerminalSession): void {
    if (this.entries.get(e.slot) !== e || e.session !== session) return;
    if (e.state !== 'preparing' && e.state !== 'ready') return;
    this.failed(e.exerciseId, 'the shell of a pooled sandbox exited');
    void this.drop(e);
  }

  private failed(exerciseId: string, message: string): void {
    const delay = this.backoff.failed(exerciseId);
    this.deps.log.warn(
      { exerciseId, err: message.split('\n')[0]!.slice(0, 300), retryInMs: delay },
      'warm pool: a sandbox could not be prepared',
    );
    if (!this.stopped) this.backoff.schedule();
  }

  /** Takes an entry out of the pool for good and removes its sandbox (if it has one yet). */
  private drop(e: Entry): Promise<void> {
    const wasPreparing = e.state === 'preparing';
    e.state = 'leaving';
    e.stopDraining?.();
    e.session?.close();
    // A sandbox still being created is removed by its preparation once the engine returns its id.
    if (wasPreparing && !e.sandboxId) {
      this.entries.delete(e.slot);
      return Promise.resolve();
    }
    const removal = (e.sandboxId ? this.removeSandbox(e.sandboxId) : Promise.resolve()).finally(() => {
      this.entries.delete(e.slot);
      this.removals.delete(removal);
    });
    this.removals.add(removal);
    return removal;
  }

  private async removeSandbox(id: string): Promise<void> {
    await this.deps.driver.remove(id).catch((err: Error) =>
      this.deps.log.warn({ sandboxId: id, err: err.message }, 'warm pool: sandbox removal failed; the reconciler retries'),
    );
  }
}
