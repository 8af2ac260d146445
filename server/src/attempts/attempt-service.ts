import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import type { ExerciseCatalog } from '../exercises/catalog.js';
import { drawVariant, newSeed } from '../exercises/variants.js';
import { removeStaleJobs } from '../grading/index.js';
import type { JobDriver } from '../sandbox/sandbox-driver.js';
import { LABELS } from '../sandbox/labels.js';
import type { AttemptNotices, Logger, SandboxNotice } from '../sandbox/notices.js';
import { bringUp, type BringUpSteps } from '../sandbox/bring-up.js';
import { ACTIVE_STATES, type Attempt, type AttemptsRepo, type EndReason } from '../store/attempts-repo.js';
import type { GradingRepo, StoredRun } from '../store/grading-repo.js';
import { AttemptTerminal, CLOSE_CODES } from '../terminal/attempt-terminal.js';
import { AsciicastRecorder, MARKERS } from '../terminal/recorder.js';
import type { ExerciseRunner, SnapshotDiff } from './exercise-runner.js';
import { WarmPool, type PooledSandbox } from './warm-pool.js';

export interface AttemptView {
  id: string;
  exerciseId: string;
  state: Attempt['state'];
  createdAt: string;
  startedAt: string | null;
  deadline: string | null;
  endedAt: string | null;
  endReason: EndReason | null;
  sandbox: Attempt['sandboxStatus'];
  serverTime: string;
  mode: Attempt['mode'];
  checksAllowed: boolean;
  hintsAllowed: boolean;
}

export interface StartOptions {
  /** Overrides the exercise's time limit (invites set it). */
  timeLimitSeconds?: number;
  mode?: Attempt['mode'];
  inviteId?: string;
  /** Whether the candidate may run checks and reveal hints (default true). */
  feedback?: boolean;
  /** The access token to use (an invite's token doubles as its attempt's token); a new one by default. */
  token?: string;
  /** Practice: the hash of the trainee's practice token. */
  ownerHash?: string;
  /** Called once the attempt row exists, before provisioning (an invite links to it at once). */
  onCreated?: (attemptId: string) => void;
}

export type { Logger };

export interface AttemptServiceDeps {
  config: Config;
  repo: AttemptsRepo;
  grading: GradingRepo;
  runner: ExerciseRunner;
  driver: JobDriver;
  catalog: ExerciseCatalog;
  log: Logger;
  /** Maps an exercise's image name to the engine's image reference. */
  imageRef: (image: string) => string;
}

export interface ReconcileReport {
  adopted: string[];
  expired: string[];
  missing: string[];
  failed: string[];
  archived: string[];
  orphansRemoved: string[];
  jobsRemoved: string[];
  /** Attempts deleted because they ended longer ago than the retention period. */
  purged: string[];
}

/** setTimeout cannot wait longer than this; longer deadlines are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const CAPACITY_RETRY_AFTER_SECONDS = 30;
/** On-demand check runs: at most one at a time per attempt, and this long between two starts. */
export const CHECK_INTERVAL_MS = 10_000;
/** Grader and clean-room containers older than this were left by a server that died mid-grading. */
const STALE_JOB_SECONDS = 2 * 3600;

/** What a candidate may see of a grading run: verdicts, and messages only of checks marked visible. */
export interface CandidateResults {
  kind: StoredRun['kind'];
  finishedAt: string;
  score: number;
  maxScore: number;
  error: string | null;
  checks: { id: string; title: string; points: number; verdict: string; message: string | null }[];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The attempt lifecycle: created → running → submitted | expired → archived (and created → failed). The server
 * owns the clock: deadlines are enforced here, by timers and by the reconciler, never by the browser.
 */
export class AttemptService implements AttemptNotices {
  private readonly terminals = new Map<string, AttemptTerminal>();
  private readonly opening = new Map<string, Promise<AttemptTerminal>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly provisioning = new Set<string>();
  private readonly ending = new Map<string, Promise<Attempt>>();
  /** When each attempt's last on-demand check run started or ended; a run in flight is in `checksRunning`. */
  private readonly checking = new Map<string, number>();
  private readonly checksRunning = new Set<string>();
  private reconcileTimer: NodeJS.Timeout | null = null;
  private reconciling: Promise<ReconcileReport> | null = null;
  private stopped = false;
  /** Sandboxes set up ahead of time (OPSLAB_WARM_POOL); empty unless configured. */
  readonly warmPool: WarmPool;

  constructor(private readonly deps: AttemptServiceDeps) {
    this.warmPool = new WarmPool({ ...deps, holding: () => deps.repo.countHoldingSandbox() });
  }

  view(attempt: Attempt): AttemptView {
    return {
      id: attempt.id,
      exerciseId: attempt.exerciseId,
      state: attempt.state,
      createdAt: iso(attempt.createdAt)!,
      startedAt: iso(attempt.startedAt),
      deadline: iso(attempt.deadline),
      endedAt: iso(attempt.endedAt),
      endReason: attempt.endReason,
      sandbox: attempt.sandboxStatus,
      serverTime: new Date().toISOString(),
      mode: attempt.mode,
      checksAllowed: attempt.feedback && (this.deps.catalog.get(attempt.exerciseId)?.checks.length ?? 0) > 0,
      hintsAllowed: attempt.feedback && (this.deps.catalog.get(attempt.exerciseId)?.hints.length ?? 0) > 0,
    };
  }

  get(id: string): Attempt | undefined {
    return this.deps.repo.get(id);
  }

  /** Constant-time check of an attempt token. */
  tokenMatches(attempt: Attempt, token: string): boolean {
    const given = Buffer.from(hashToken(token), 'hex');
    const stored = Buffer.from(attempt.tokenHash, 'hex');
    return given.length === stored.length && timingSafeEqual(given, stored);
  }

  recordingFile(attempt: Attempt): string {
    return attempt.recordingPath ?? path.join(this.deps.config.dataDir, 'recordings', `${attempt.id}.cast`);
  }

  /** Starts an attempt: provisions its sandbox, attaches the shell and starts the clock. */
  async start(exerciseId: string, opts: StartOptions = {}): Promise<{ attempt: Attempt; token: string }> {
    const { repo, driver, catalog, config, log } = this.deps;
    const exercise = catalog.get(exerciseId);
    if (!exercise) throw errors.exerciseNotFound(exerciseId);
    const mode = opts.mode ?? 'practice';
    // A sandbox from the warm pool, if one is ready: taken now, so no other start can have it.
    const pooled = this.warmPool.take(exerciseId);
    try {
      await this.makeRoom(mode);
    } catch (err) {
      if (pooled) this.warmPool.putBack(pooled);
      throw err;
    }

    const timeLimitSeconds = opts.timeLimitSeconds ?? exercise.timeLimitMinutes * 60;
    // A pooled sandbox was set up with its own freshly drawn seed, which becomes this attempt's (see warm-pool.ts).
    const seed = pooled?.seed ?? newSeed();
    const params = pooled?.params ?? drawVariant(exercise.variants, seed);
    const id = `a_${randomBytes(10).toString('hex')}`;
    const token = opts.token ?? randomBytes(32).toString('base64url');
    const now = Date.now();
    repo.insert({
      id,
      exerciseId,
      state: 'created',
      tokenHash: hashToken(token),
      timeLimitSeconds,
      createdAt: now,
      startedAt: null,
      deadline: null,
      endedAt: null,
      endReason: null,
      sandboxId: pooled?.sandboxId ?? null,
      sandboxStatus: 'provisioning',
      recordingPath: path.join(config.dataDir, 'recordings', `${id}.cast`),
      failure: null,
      seed,
      params,
      hintsRevealed: 0,
      mode,
      inviteId: opts.inviteId ?? null,
      feedback: opts.feedback ?? true,
      ownerHash: opts.ownerHash ?? null,
    });
    this.provisioning.add(id);
    opts.onCreated?.(id);
    let sandboxId = (pooled?.sandboxId ?? null) as string | null;
    let terminal = null as AttemptTerminal | null;
    try {
      if (pooled) {
        const running = await this.claim(id, pooled, timeLimitSeconds);
        log.info({ attemptId: id, exerciseId, sandboxId, ms: Date.now() - now, pooled: true }, 'attempt started');
        return { attempt: running, token };
      }
      let startedAt = 0;
      const up = await bringUp(this.bringUpSteps(), {
        exercise,
        owner: { attemptId: id },
        attach: 'before-start',
        onCreated: (created) => {
          sandboxId = created;
          repo.update(id, { sandboxId });
        },
        onAttached: async (session) => {
          startedAt = Date.now();
          terminal = await this.openTerminal({ ...repo.get(id)!, startedAt });
          // Attached before start, so the very first prompt byte is recorded.
          terminal.attachSession(session);
          terminal.marker(MARKERS.started);
        },
        setup: (created) => this.deps.runner.provision(created, exercise, { params, seed }),
        snapshot: (created) => this.deps.runner.snapshot(created, exercise.collect),
      });
      this.saveSnapshot(id, 'initial', up.snapshot!);
      // The clock starts once the sandbox is ready, not while it is being seeded.
      const readyAt = Date.now();
      const running = repo.update(
        id,
        {
          state: 'running',
          startedAt,
          deadline: readyAt + timeLimitSeconds * 1000,
          sandboxStatus: 'running',
        },
        ['created'],
      );
      if (!running) throw new Error('the attempt changed state while its sandbox was starting');
      repo.addEvent(id, 'started', { sandboxId });
      this.armDeadline(running);
      log.info({ attemptId: id, exerciseId, sandboxId, ms: Date.now() - now }, 'attempt started');
      return { attempt: running, token };
    } catch (err) {
      const message = (err as Error).message;
      log.error({ attemptId: id, exerciseId, err: message }, 'sandbox could not be started');
      // (A claim opens its terminal itself.)
      const opened = terminal ?? this.terminals.get(id);
      this.terminals.delete(id);
      opened?.close({ code: CLOSE_CODES.ended, text: 'The sandbox could not be started.' });
      repo.update(id, { state: 'failed', failure: message, sandboxStatus: 'removed' }, ['created']);
      repo.addEvent(id, 'failed', { error: message });
      if (pooled) this.warmPool.forget(pooled);
      if (sandboxId) await driver.remove(sandboxId).catch(() => undefined);
      throw errors.sandboxFailed(firstLine(message));
    } finally {
      this.provisioning.delete(id);
    }
  }

  /**
   * Makes a pooled sandbox (already running and set up) the attempt's: its own recording and terminal from now on,
   * a fresh prompt in them, the initial snapshot taken after setup, and the clock.
   */
  private async claim(id: string, pooled: PooledSandbox, timeLimitSeconds: number): Promise<Attempt> {
    const { repo } = this.deps;
    const startedAt = Date.now();
    const terminal = await this.openTerminal({ ...repo.get(id)!, startedAt });
    terminal.marker(MARKERS.started);
    terminal.attachSession(this.warmPool.handOver(pooled));
    // The shell has waited at its prompt since the pool started it, and what it printed then was not this attempt's:
    // Ctrl-L makes it clear the screen and print the prompt again, into this attempt's screen and recording.
    terminal.input(Buffer.from('\x0c'));
    this.saveSnapshot(id, 'initial', pooled.snapshot);
    const running = repo.update(
      id,
      { state: 'running', startedAt, deadline: startedAt + timeLimitSeconds * 1000, sandboxStatus: 'running' },
      ['created'],
    );
    if (!running) throw new Error('the attempt changed state while its sandbox was being claimed');
    repo.addEvent(id, 'started', { sandboxId: pooled.sandboxId, pooled: true });
    this.armDeadline(running);
    return running;
  }

  /**
   * Capacity: practice may hold at most its share of the sandboxes. An interview may use every one, and when the
   * machine is full it takes the place of the practice attempt that started first (interviews come first). Warm-pool
   * sandboxes count against the same limit and are the first to go when it is reached (a sandbox this start took
   * from the pool has already left the pool's count).
   */
  private async makeRoom(mode: Attempt['mode']): Promise<void> {
    const { repo, config, log } = this.deps;
    const full = () => repo.countHoldingSandbox() + this.warmPool.size >= config.maxSandboxes;
    if (mode === 'practice' && repo.countHoldingSandbox('practice') >= config.practice.maxSandboxes) {
      throw errors.capacity(CAPACITY_RETRY_AFTER_SECONDS);
    }
    while (full() && (await this.warmPool.evictOne())) {
      /* one pooled sandbox fewer per round */
    }
    if (!full()) return;
    if (mode === 'practice') throw errors.capacity(CAPACITY_RETRY_AFTER_SECONDS);
    const victim = repo.oldestRunningPractice();
    if (!victim) throw errors.capacity(CAPACITY_RETRY_AFTER_SECONDS);
    log.info({ attemptId: victim.id }, 'stopping a practice attempt to make room for an interview');
    await this.end(victim.id, 'preempted').catch(() => undefined);
    if (full()) throw errors.capacity(CAPACITY_RETRY_AFTER_SECONDS);
  }

  submit(id: string): Promise<Attempt> {
    return this.end(id, 'submitted');
  }

  expire(id: string): Promise<Attempt> {
    return this.end(id, 'expired');
  }

  /** Ends a running attempt; concurrent calls share one ending. */
  end(id: string, reason: EndReason): Promise<Attempt> {
    const pending = this.ending.get(id);
    if (pending) return pending;
    const promise = this.doEnd(id, reason).finally(() => this.ending.delete(id));
    this.ending.set(id, promise);
    return promise;
  }

  private async doEnd(id: string, reason: EndReason): Promise<Attempt> {
    const { repo, log } = this.deps;
    const before = repo.get(id);
    if (!before) throw errors.attemptNotFound();
    // A withdrawn invite ends its attempt like the clock would: graded as it stands, the reason kept.
    const state = reason === 'revoked' || reason === 'preempted' ? 'expired' : reason;
    const ended = repo.update(id, { state, endedAt: Date.now(), endReason: reason }, ['running']);
    if (!ended) throw errors.attemptNotRunning(before.state);
    this.clearDeadline(id);
    repo.addEvent(id, reason);
    log.info({ attemptId: id, reason }, 'attempt ended');
    const text =
      reason === 'expired'
        ? 'Time is up: the attempt has ended.'
        : reason === 'revoked'
          ? 'This invite was withdrawn: the attempt has ended.'
          : reason === 'preempted'
            ? 'This practice sandbox was stopped to make room for an interview. Start the exercise again later.'
            : 'The attempt was submitted.';
    const terminal = this.terminals.get(id);
    this.terminals.delete(id);
    if (terminal) {
      terminal.broadcast({ type: 'attempt', attempt: this.view(ended) });
      terminal.close({ code: CLOSE_CODES.ended, text, marker: reason });
    } else {
      this.appendMarker(ended, reason);
    }
    // A practice sandbox taken back for an interview frees its place at once, ungraded.
    if (reason !== 'preempted') await this.finalGrade(ended);
    return (await this.archive(ended)) ?? repo.get(id)!;
  }

  /**
   * The final grading and the snapshot of what changed, taken while the sandbox still exists. A grading that
   * cannot be carried out is stored with its error (shown as such, never as a fail). Exercises without checks
   * still get the snapshot of what changed.
   */
  private async finalGrade(attempt: Attempt): Promise<void> {
    const { grading, log, driver, runner } = this.deps;
    const exercise = this.deps.catalog.get(attempt.exerciseId);
    if (!exercise || grading.final(attempt.id)) return;
    const startedAt = Date.now();
    try {
      const info = attempt.sandboxId ? await driver.inspect(attempt.sandboxId) : null;
      if (!info) throw new Error('the sandbox was gone before the final grading');
      // Services and live state are graded as they are. A stopped container (the shell exited) is started and
      // its exercise services brought back, as a restart of the shell would: probes need them running.
      if (info.runState !== 'running') {
        await driver.start(info.id);
        await runner.boot(info.id);
      }
      if (exercise.checks.length > 0) {
        const variant = { params: attempt.params, seed: attempt.seed ?? '' };
        const outcome = await runner.grade(info.id, exercise, variant, attempt.id);
        grading.insert({ attemptId: attempt.id, kind: 'final', ...outcome, error: null });
        const ms = outcome.finishedAt - outcome.startedAt;
        this.deps.repo.addEvent(attempt.id, 'graded', { score: outcome.score, maxScore: outcome.maxScore, ms });
        log.info({ attemptId: attempt.id, score: outcome.score, maxScore: outcome.maxScore, ms }, 'final grading done');
      }
      const initial = this.loadSnapshot(attempt.id, 'initial');
      const final = await runner.snapshot(info.id, exercise.collect);
      this.saveSnapshot(attempt.id, 'final', final);
      if (initial) this.saveDiff(attempt.id, await runner.diff(initial, final));
    } catch (err) {
      const message = firstLine((err as Error).message);
      log.error({ attemptId: attempt.id, err: message }, 'final grading failed');
      if (exercise.checks.length > 0 && !grading.final(attempt.id)) {
        grading.insert({
          attemptId: attempt.id,
          kind: 'final',
          startedAt,
          finishedAt: Date.now(),
          score: 0,
          maxScore: 0,
          results: [],
          cleanroom: [],
          error: message,
        });
      }
    }
  }

  /** Runs the checks now, during the attempt (at most one run at a time, CHECK_INTERVAL_MS apart). */
  async runChecks(id: string): Promise<StoredRun> {
    const { repo, grading } = this.deps;
    const attempt = repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    if (!attempt.feedback) throw errors.noFeedback();
    const exercise = this.deps.catalog.get(attempt.exerciseId);
    if (!exercise || exercise.checks.length === 0) throw errors.noChecks();
    if (!attempt.sandboxId || attempt.sandboxStatus === 'missing') throw errors.sandboxMissing();
    const last = this.checking.get(id);
    const now = Date.now();
    if (this.checksRunning.has(id)) throw errors.checksTooSoon(Math.ceil(CHECK_INTERVAL_MS / 1000));
    if (last !== undefined && now - last < CHECK_INTERVAL_MS) {
      throw errors.checksTooSoon(Math.ceil((CHECK_INTERVAL_MS - (now - last)) / 1000));
    }
    this.checking.set(id, now);
    this.checksRunning.add(id);
    const terminal = this.terminals.get(id);
    terminal?.marker(MARKERS.checks);
    const outcome = await this.deps.runner
      .grade(attempt.sandboxId, exercise, { params: attempt.params, seed: attempt.seed ?? '' }, id)
      .finally(() => {
        this.checksRunning.delete(id);
        this.checking.set(id, Date.now());
      });
    const run = grading.insert({ attemptId: id, kind: 'progress', ...outcome, error: null });
    this.terminals.get(id)?.marker(`${MARKERS.checks}: ${outcome.score}/${outcome.maxScore}`);
    repo.addEvent(id, 'checks', { score: outcome.score, maxScore: outcome.maxScore });
    return run;
  }

  /** The final grading of an attempt (for reviewers: with details). */
  finalRun(attemptId: string): StoredRun | undefined {
    return this.deps.grading.final(attemptId);
  }

  /** What the attempt's own holder sees of a run: practice shows every check's message, interviews the visible ones. */
  candidateResults(run: StoredRun, attempt: Attempt): CandidateResults {
    return {
      kind: run.kind,
      finishedAt: new Date(run.finishedAt).toISOString(),
      score: run.score,
      maxScore: run.maxScore,
      error: run.error,
      checks: run.results.map((r) => ({
        id: r.id,
        title: r.title,
        points: r.points,
        verdict: r.verdict,
        message: r.visible || attempt.mode === 'practice' ? r.message : null,
      })),
    };
  }

  /** Reveals the next hint (recorded in the attempt) and returns every hint revealed so far. */
  revealHint(id: string): { revealed: string[]; total: number } {
    const { repo, catalog } = this.deps;
    const attempt = repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    if (!attempt.feedback) throw errors.noFeedback();
    const hints = catalog.get(attempt.exerciseId)?.hints ?? [];
    if (attempt.hintsRevealed >= hints.length) throw errors.noMoreHints();
    const n = attempt.hintsRevealed + 1;
    repo.update(id, { hintsRevealed: n }, ['running']);
    repo.addEvent(id, 'hint', { n });
    this.terminals.get(id)?.marker(`${MARKERS.hint} ${n}`);
    return { revealed: hints.slice(0, n), total: hints.length };
  }

  hints(attempt: Attempt): { revealed: string[]; total: number } {
    if (!attempt.feedback) return { revealed: [], total: 0 };
    const hints = this.deps.catalog.get(attempt.exerciseId)?.hints ?? [];
    return { revealed: hints.slice(0, attempt.hintsRevealed), total: hints.length };
  }

  snapshotDiff(attemptId: string): SnapshotDiff | null {
    try {
      return JSON.parse(fs.readFileSync(this.snapshotFile(attemptId, 'diff.json'), 'utf8')) as SnapshotDiff;
    } catch {
      return null;
    }
  }

  private snapshotFile(attemptId: string, name: string): string {
    return path.join(this.deps.config.dataDir, 'snapshots', attemptId, name);
  }

  private saveSnapshot(attemptId: string, which: 'initial' | 'final', tar: Buffer): void {
    const file = this.snapshotFile(attemptId, `${which}.tar`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, tar);
  }

  private loadSnapshot(attemptId: string, which: 'initial' | 'final'): Buffer | null {
    try {
      return fs.readFileSync(this.snapshotFile(attemptId, `${which}.tar`));
    } catch {
      return null;
    }
  }

  private saveDiff(attemptId: string, diff: SnapshotDiff): void {
    fs.writeFileSync(this.snapshotFile(attemptId, 'diff.json'), JSON.stringify(diff));
  }

  /** Removes an ended attempt's sandbox. Failures are logged; the reconciler tries again. */
  private async archive(attempt: Attempt): Promise<Attempt | undefined> {
    const { repo, driver, log } = this.deps;
    try {
      if (attempt.sandboxId) await driver.remove(attempt.sandboxId);
    } catch (err) {
      log.error({ attemptId: attempt.id, err: (err as Error).message }, 'sandbox removal failed; will retry');
      return undefined;
    }
    const archived = repo.update(attempt.id, { state: 'archived', sandboxStatus: 'removed' }, ['submitted', 'expired']);
    if (archived) repo.addEvent(attempt.id, 'archived');
    return archived;
  }

  /** Moves a running attempt's deadline by `seconds`; the candidate's countdown follows at once. */
  extend(id: string, seconds: number): Attempt {
    const { repo } = this.deps;
    const attempt = repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (attempt.state !== 'running' || attempt.deadline === null) throw errors.attemptNotRunning(attempt.state);
    const deadline = attempt.deadline + seconds * 1000;
    const updated = repo.update(
      id,
      { deadline, timeLimitSeconds: attempt.timeLimitSeconds + seconds },
      ['running'],
    );
    if (!updated) throw errors.attemptNotRunning(repo.get(id)?.state ?? 'gone');
    repo.addEvent(id, 'extended', { seconds, deadline: new Date(deadline).toISOString() });
    this.terminals.get(id)?.marker(`${MARKERS.extended} ${Math.round(seconds / 60)} min`);
    this.armDeadline(updated);
    this.terminals.get(id)?.broadcast({ type: 'attempt', attempt: this.view(updated) });
    return updated;
  }

  /**
   * Deletes an attempt and everything kept of it: sandbox, recording, snapshots, gradings, reviews, events (and
   * the invite, which holds the candidate's name and email). A running attempt is stopped first, ungraded.
   */
  async deleteAttempt(id: string): Promise<void> {
    const { repo, driver, log } = this.deps;
    const attempt = repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (this.provisioning.has(id)) throw errors.attemptBusy();
    await this.ending.get(id)?.catch(() => undefined);
    this.clearDeadline(id);
    const terminal = this.terminals.get(id);
    this.terminals.delete(id);
    terminal?.close({ code: CLOSE_CODES.ended, text: 'This attempt was deleted.' });
    const current = repo.get(id) ?? attempt;
    if (current.sandboxId && current.sandboxStatus !== 'removed') {
      await driver.remove(current.sandboxId).catch((err: Error) =>
        log.warn({ attemptId: id, err: err.message }, 'sandbox removal failed during delete; the reconciler retries'),
      );
    }
    repo.delete(id);
    fs.rmSync(this.recordingFile(current), { force: true });
    fs.rmSync(path.join(this.deps.config.dataDir, 'snapshots', id), { recursive: true, force: true });
    this.checking.delete(id);
    log.info({ attemptId: id }, 'attempt deleted');
  }

  /**
   * Deletes attempts that ended (or failed) before `cutoff` (epoch ms), and invites that expired unused before
   * it; returns the attempts' ids.
   */
  async purgeEndedBefore(cutoff: number): Promise<string[]> {
    const ids = this.deps.repo.endedBefore(cutoff);
    for (const id of ids) await this.deleteAttempt(id);
    this.deps.repo.purgeUnusedInvites(cutoff);
    return ids;
  }

  /**
   * Practice: puts the sandbox back to its initial state (a new container, seeded with the same variant) under the
   * same attempt, clock and recording. The old container is removed.
   */
  async resetSandbox(id: string): Promise<Attempt> {
    const { repo, driver, runner } = this.deps;
    const attempt = repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    if (attempt.mode !== 'practice') throw errors.practiceOnly();
    if (this.provisioning.has(id) || this.ending.has(id)) throw errors.attemptBusy();
    const exercise = this.deps.catalog.get(attempt.exerciseId);
    if (!exercise) throw errors.exerciseNotFound(attempt.exerciseId);
    // While the new container is made, the reconciler must not take it (or the old one) for an orphan.
    this.provisioning.add(id);
    let sandboxId = null as string | null;
    try {
      const terminal = await this.terminalFor(attempt);
      const generation = repo.events(id).filter((e) => e.kind === 'reset').length + 1;
      await bringUp(this.bringUpSteps(), {
        exercise,
        owner: { attemptId: id, generation },
        attach: 'before-start',
        onCreated: (created) => (sandboxId = created),
        onAttached: (session) => {
          terminal.marker(MARKERS.reset);
          terminal.attachSession(session);
        },
        setup: (created) => runner.provision(created, exercise, { params: attempt.params, seed: attempt.seed ?? '' }),
      });
      const updated = repo.update(id, { sandboxId, sandboxStatus: 'running' }, ['running']);
      if (!updated) throw errors.attemptNotRunning(repo.get(id)?.state ?? 'gone');
      repo.addEvent(id, 'reset', { sandboxId });
      if (attempt.sandboxId) await driver.remove(attempt.sandboxId).catch(() => undefined);
      terminal.broadcast({ type: 'attempt', attempt: this.view(updated) });
      return updated;
    } catch (err) {
      // The attempt keeps its old sandbox (if any is left); the new one goes.
      if (sandboxId && repo.get(id)?.sandboxId !== sandboxId) await driver.remove(sandboxId).catch(() => undefined);
      throw err;
    } finally {
      this.provisioning.delete(id);
    }
  }

  /** Starts the shell again in the same container after it exited; files are kept. */
  async restartShell(id: string): Promise<Attempt> {
    const { repo, driver } = this.deps;
    const attempt = repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    const info = attempt.sandboxId ? await driver.inspect(attempt.sandboxId) : null;
    if (!info) {
      repo.update(id, { sandboxStatus: 'missing' }, ['running']);
      throw errors.sandboxMissing();
    }
    const terminal = await this.terminalFor(attempt);
    if (info.runState === 'running' && terminal.hasShell) throw errors.shellRunning();
    if (info.runState !== 'running') {
      await driver.start(info.id);
      // The container restarted: bring the exercise's services back.
      await this.deps.runner.boot(info.id).catch((err: Error) =>
        this.deps.log.warn({ attemptId: id, err: err.message }, 'boot script failed after restart'),
      );
    }
    terminal.attachSession(await driver.attachTerminal(info.id));
    // A fresh shell prints its prompt before we could attach; ask for a new one.
    terminal.input(Buffer.from('\n'));
    terminal.marker(MARKERS.shellRestarted);
    repo.addEvent(id, 'shell-restarted');
    const updated = repo.update(id, { sandboxStatus: 'running' }, ['running'])!;
    terminal.broadcast({ type: 'attempt', attempt: this.view(updated) });
    return updated;
  }

  /** The live terminal of a running attempt, opening (and adopting the shell) when needed. */
  async terminalFor(attempt: Attempt): Promise<AttemptTerminal> {
    const live = this.terminals.get(attempt.id);
    if (live && !live.isClosed) return live;
    const opening = this.opening.get(attempt.id);
    if (opening) return opening;
    const promise = (async () => {
      const terminal = await this.openTerminal(attempt);
      terminal.marker(MARKERS.adopted);
      if (attempt.sandboxId) {
        const info = await this.deps.driver.inspect(attempt.sandboxId);
        if (info?.runState === 'running') terminal.attachSession(await this.deps.driver.attachTerminal(info.id));
      }
      return terminal;
    })().finally(() => this.opening.delete(attempt.id));
    this.opening.set(attempt.id, promise);
    return promise;
  }

  private async openTerminal(attempt: Attempt): Promise<AttemptTerminal> {
    const terminal = await AttemptTerminal.open({
      attemptId: attempt.id,
      recordingFile: this.recordingFile(attempt),
      startedAt: attempt.startedAt ?? attempt.createdAt,
      recordingMaxBytes: this.deps.config.recordingMaxBytes,
      onShellExit: () => void this.onShellExit(attempt.id),
      log: (msg, extra) => this.deps.log.warn({ attemptId: attempt.id, ...extra }, msg),
    });
    this.terminals.set(attempt.id, terminal);
    return terminal;
  }

  private async onShellExit(id: string): Promise<void> {
    const { repo, driver, log } = this.deps;
    const attempt = repo.get(id);
    if (!attempt || attempt.state !== 'running' || !attempt.sandboxId) return;
    let info;
    try {
      info = await driver.inspect(attempt.sandboxId);
    } catch (err) {
      // The engine does not answer (it is restarting): that says nothing about the sandbox, which with
      // live-restore keeps running. The reconciler attaches the shell again once the engine is back.
      log.warn({ attemptId: id, err: (err as Error).message }, 'shell connection lost and the engine does not answer');
      return;
    }
    const status = info ? (info.runState === 'running' ? 'running' : 'exited') : 'missing';
    const updated = repo.update(id, { sandboxStatus: status }, ['running']);
    repo.addEvent(id, 'shell-exited', { exitCode: info?.exitCode ?? null, oomKilled: info?.oomKilled ?? false });
    log.info({ attemptId: id, status, exitCode: info?.exitCode, oomKilled: info?.oomKilled }, 'shell exited');
    if (updated) this.terminals.get(id)?.broadcast({ type: 'attempt', attempt: this.view(updated) });
  }

  private appendMarker(attempt: Attempt, label: string): void {
    try {
      const recorder = new AsciicastRecorder({
        file: this.recordingFile(attempt),
        cols: 80,
        rows: 24,
        startedAt: attempt.startedAt ?? attempt.createdAt,
        maxBytes: this.deps.config.recordingMaxBytes,
      });
      recorder.marker(label);
      recorder.close();
    } catch (err) {
      this.deps.log.warn({ attemptId: attempt.id, err: (err as Error).message }, 'could not append marker');
    }
  }

  /** Tells the attempt's candidate what happened to the sandbox: a marker in the recording, a notice on screen. */
  async notify(attempt: Attempt, marker: string, notice: SandboxNotice): Promise<void> {
    const terminal = await this.terminalFor(attempt);
    terminal.marker(marker);
    terminal.broadcast({ type: 'notice', ...notice });
  }

  private bringUpSteps(): BringUpSteps {
    return { driver: this.deps.driver, policy: this.deps.config.sandbox, imageRef: this.deps.imageRef };
  }

  /** Makes sure the recording on disk holds everything buffered so far (before a download). */
  flushRecording(id: string): void {
    this.terminals.get(id)?.flush();
  }

  private armDeadline(attempt: Attempt): void {
    if (attempt.deadline === null || this.stopped) return;
    this.clearDeadline(attempt.id);
    const delay = Math.max(0, attempt.deadline - Date.now());
    const timer = setTimeout(
      () => {
        this.timers.delete(attempt.id);
        const current = this.deps.repo.get(attempt.id);
        if (!current || current.state !== 'running' || current.deadline === null) return;
        if (current.deadline > Date.now()) return this.armDeadline(current);
        this.expire(attempt.id).catch((err: Error) =>
          this.deps.log.error({ attemptId: attempt.id, err: err.message }, 'expiry failed'),
        );
      },
      Math.min(delay, MAX_TIMER_MS),
    );
    timer.unref();
    this.timers.set(attempt.id, timer);
  }

  private clearDeadline(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }

  /**
   * Brings the database and the engine into agreement: adopt running sandboxes, expire the overdue, mark vanished
   * sandboxes, fail interrupted provisioning, finish archiving, and remove containers no attempt owns.
   */
  reconcile(): Promise<ReconcileReport> {
    if (!this.reconciling) {
      this.reconciling = this.doReconcile().finally(() => (this.reconciling = null));
    }
    return this.reconciling;
  }

  private async doReconcile(): Promise<ReconcileReport> {
    const { repo, driver, log } = this.deps;
    const report: ReconcileReport = {
      adopted: [],
      expired: [],
      missing: [],
      failed: [],
      archived: [],
      orphansRemoved: [],
      jobsRemoved: [],
      purged: [],
    };
    const sandboxes = await driver.listManaged();
    const byId = new Map(sandboxes.map((s) => [s.id, s]));
    const owned = new Set<string>();
    for (const attempt of repo.listInStates(ACTIVE_STATES)) {
      if (this.provisioning.has(attempt.id) || this.ending.has(attempt.id)) {
        if (attempt.sandboxId) owned.add(attempt.sandboxId);
        continue;
      }
      const sandbox = attempt.sandboxId ? byId.get(attempt.sandboxId) : undefined;
      try {
        switch (attempt.state) {
          case 'created': {
            // Provisioning was interrupted (the server died in the middle of it).
            repo.update(attempt.id, { state: 'failed', failure: 'provisioning was interrupted', sandboxStatus: 'removed' }, ['created']);
            repo.addEvent(attempt.id, 'failed', { error: 'provisioning was interrupted' });
            report.failed.push(attempt.id);
            break;
          }
          case 'running': {
            if (attempt.deadline !== null && attempt.deadline <= Date.now()) {
              if (sandbox) owned.add(sandbox.id);
              await this.expire(attempt.id);
              report.expired.push(attempt.id);
              break;
            }
            if (!sandbox) {
              if (attempt.sandboxStatus !== 'missing') {
                const updated = repo.update(attempt.id, { sandboxStatus: 'missing' }, ['running']);
                repo.addEvent(attempt.id, 'sandbox-missing');
                log.warn({ attemptId: attempt.id }, 'the sandbox of a running attempt is gone');
                if (updated) this.terminals.get(attempt.id)?.broadcast({ type: 'attempt', attempt: this.view(updated) });
                report.missing.push(attempt.id);
              }
              break;
            }
            owned.add(sandbox.id);
            this.armDeadline(attempt);
            const live = this.terminals.get(attempt.id);
            if (sandbox.runState === 'running') {
              if (!live || live.isClosed) {
                await this.terminalFor(attempt);
                repo.addEvent(attempt.id, 'adopted', { sandboxId: sandbox.id });
                report.adopted.push(attempt.id);
              } else if (!live.hasShell) {
                // The shell's connection ended while its container runs (the engine restarted with live-restore,
                // or the connection to it broke; a shell that exits stops its container): attach to it again.
                live.attachSession(await driver.attachTerminal(sandbox.id));
                live.marker(MARKERS.adopted);
                repo.addEvent(attempt.id, 'adopted', { sandboxId: sandbox.id, reattached: true });
                report.adopted.push(attempt.id);
                // The browser was told the shell exited: tell it the shell is back.
                const updated = repo.update(attempt.id, { sandboxStatus: 'running' }, ['running']);
                if (updated) live.broadcast({ type: 'attempt', attempt: this.view(updated) });
              }
              const current = this.terminals.get(attempt.id);
              if (attempt.sandboxStatus !== 'running' && current?.hasShell) {
                repo.update(attempt.id, { sandboxStatus: 'running' }, ['running']);
              }
            } else if (attempt.sandboxStatus === 'running' && !live?.hasShell) {
              repo.update(attempt.id, { sandboxStatus: 'exited' }, ['running']);
            }
            break;
          }
          case 'submitted':
          case 'expired': {
            // Ended but not graded or its sandbox not removed yet (a crash or an engine error in between).
            if (sandbox) owned.add(sandbox.id);
            await this.finalGrade(attempt);
            if (await this.archive(attempt)) report.archived.push(attempt.id);
            break;
          }
          default:
            break;
        }
      } catch (err) {
        log.error({ attemptId: attempt.id, err: (err as Error).message }, 'reconcile failed for attempt');
      }
    }
    for (const sandbox of sandboxes) {
      if (owned.has(sandbox.id)) continue;
      // A warm-pool sandbox: this server's pool looks after its own. One an attempt claimed has no attempt label; its
      // attempt names it (read now: the claim may be newer than the list above). Any other (a pool of a server
      // that died) is an orphan, never adopted as an attempt.
      const slot = sandbox.labels[LABELS.pool];
      if (slot !== undefined && this.warmPool.owns(slot)) continue;
      const attemptId =
        sandbox.attemptId ||
        (slot !== undefined ? repo.listInStates(ACTIVE_STATES).find((a) => a.sandboxId === sandbox.id)?.id : undefined) ||
        null;
      if (attemptId && (this.provisioning.has(attemptId) || this.ending.has(attemptId))) continue;
      const attempt = attemptId ? repo.get(attemptId) : undefined;
      if (attempt && attempt.state === 'running' && attempt.sandboxId === sandbox.id) continue;
      await driver.remove(sandbox.id).catch((err: Error) =>
        log.error({ sandboxId: sandbox.id, err: err.message }, 'orphan removal failed'),
      );
      log.info({ sandboxId: sandbox.id, attemptId }, 'removed orphan sandbox');
      report.orphansRemoved.push(sandbox.id);
    }
    report.jobsRemoved = await removeStaleJobs(driver, STALE_JOB_SECONDS);
    if (this.deps.config.retentionDays > 0) {
      const cutoff = Date.now() - this.deps.config.retentionDays * 86_400_000;
      report.purged = await this.purgeEndedBefore(cutoff).catch((err: Error) => {
        log.error({ err: err.message }, 'retention purge failed');
        return [];
      });
      if (report.purged.length > 0) log.info({ attempts: report.purged }, 'deleted attempts past the retention period');
    }
    if (report.jobsRemoved.length > 0) log.info({ jobs: report.jobsRemoved }, 'removed stale grading containers');
    // Room may have come free since the last pass.
    this.warmPool.fill();
    return report;
  }

  /** Reconciles now and then every `reconcileIntervalMs`. */
  async startBackground(): Promise<ReconcileReport> {
    const report = await this.reconcile();
    // After the first pass, which removed what a previous server's pool left behind.
    this.warmPool.start();
    this.reconcileTimer = setInterval(() => {
      this.reconcile().catch((err: Error) => this.deps.log.error({ err: err.message }, 'reconcile failed'));
    }, this.deps.config.reconcileIntervalMs);
    this.reconcileTimer.unref();
    return report;
  }

  /**
   * Stops timers and detaches from every shell without stopping it: after a restart, the next server adopts
   * the same containers with their shells.
   */
  async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.reconciling?.catch(() => undefined);
    await Promise.allSettled([...this.ending.values()]);
    await this.warmPool.shutdown();
    for (const terminal of this.terminals.values()) {
      terminal.close({ code: 1012, text: 'The server is restarting; reconnecting…' });
    }
    this.terminals.clear();
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 300);
}
