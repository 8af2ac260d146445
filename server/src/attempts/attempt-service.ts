import { errors } from '../errors.js';
import { CLOSE_CODES } from '../../../contract/terminal.js';
import type { AttemptNotices, SandboxNotice } from '../sandbox/notices.js';
import type { Attempt, EndReason } from '../store/attempts-repo.js';
import type { StoredRun } from '../store/grading-repo.js';
import type { AttemptTerminal } from '../terminal/attempt-terminal.js';
import { MARKERS } from '../terminal/recorder.js';
import { AttemptArtifacts } from './artifacts.js';
import type { AttemptContext, AttemptServiceDeps } from './context.js';
import type { DataUsage } from './data-budget.js';
import { DeadlineTimers } from './deadlines.js';
import { endAttempt } from './ending.js';
import { letGo, terminalHome } from './handover.js';
import type { SnapshotDiff } from './exercise-runner.js';
import { Feedback } from './feedback.js';
import { GradingQueue, type GradingPosition, type GradingQueueStats } from '../grading/queue.js';
import { Regrader } from './regrade.js';
import { deleteAttempt, purgeEndedBefore } from './purge.js';
import { Reconciler, type ReconcileReport } from './reconciler.js';
import { Ownership } from './ownership.js';
import { onShellExit, resetSandbox, restartShell } from './running-sandbox.js';
import { startAttempt, type StartOptions } from './starting.js';
import { TerminalRegistry } from './terminals.js';
import { AttemptPushes } from './attempt-pushes.js';
import { localPushBus } from '../store/push-bus.js';
import { tokenMatches } from './tokens.js';
import { attemptView, candidateResults, type AttemptView, type CandidateResults } from './view.js';
import { WarmPool } from './warm-pool.js';

export type { AttemptServiceDeps, Logger } from './context.js';
export { CHECK_INTERVAL_MS } from './feedback.js';
export type { ReconcileReport } from './reconciler.js';
export type { DataUsage } from './data-budget.js';
export type { StartOptions } from './starting.js';
export { hashToken } from './tokens.js';
export type { AttemptView, CandidateResults } from './view.js';

/**
 * The attempt lifecycle: created → running → submitted | expired → archived (and created → failed). The server
 * owns the clock: deadlines are enforced here, by timers and by the reconciler, never by the browser.
 *
 * This class is the face the routes and the other services use; the work is done by the parts next to it:
 * starting.ts (start, warm-pool claims) with capacity.ts, ending.ts with final-grading.ts, running-sandbox.ts (shell
 * restart, practice reset), feedback.ts (checks and hints), reconciler.ts, purge.ts, and the attempt's terminals,
 * deadline timers and files on disk (terminals.ts, deadlines.ts, artifacts.ts).
 */
export class AttemptService implements AttemptNotices {
  /** Sandboxes set up ahead of time (OPSLAB_WARM_POOL); empty unless configured. */
  readonly warmPool: WarmPool;
  private readonly ctx: AttemptContext;
  private readonly feedback: Feedback;
  /** Final gradings again, from the stored snapshots (staff, after a check was fixed). */
  readonly regrader: Regrader;
  private readonly reconciler: Reconciler;
  /** Every grading of this server waits its turn here (OPSLAB_GRADING_CONCURRENCY, OPSLAB_GRADING_QUEUE_MAX). */
  private readonly gradingQueue: GradingQueue;
  /** This server among the replicas: which attempts it owns. */
  readonly ownership: Ownership;
  /** When a pass to take over attempts without a live owner last began. */
  private takeOverAt = 0;
  /** Set once the server winds down: no pass to take attempts over from then on. */
  private windingDown = false;

  constructor(private readonly deps: AttemptServiceDeps) {
    this.ownership = new Ownership({
      leases: deps.leases,
      config: deps.config,
      log: deps.log,
      reserved: () => this.warmPool.size + this.gradingQueue.containers,
      lost: (ids) => letGo(this.ctx, ids),
      orphaned: () => this.takeOver(),
    });
    // The pool grows only into room that attempts and the gradings running leave free.
    this.warmPool = new WarmPool({
      ...deps,
      replica: this.ownership.id,
      holding: async () => (await deps.repo.countHoldingSandbox()) + (this.gradingQueue?.containers ?? 0),
    });
    const artifacts = new AttemptArtifacts(deps);
    // Grader and clean-room containers count against OPSLAB_MAX_SANDBOXES: a check run or a regrade waits while
    // sandboxes, the warm pool and the gradings running fill the machine (a final grading does not: it frees a
    // sandbox). Pooled sandboxes give way to gradings as they do to starts.
    const gradingQueue: GradingQueue = new GradingQueue({
      concurrency: deps.config.grading.concurrency,
      maxQueued: deps.config.grading.maxQueued,
      hasRoom: async (containers): Promise<boolean> => {
        const fits = (await deps.repo.countHoldingSandbox()) + this.warmPool.size + gradingQueue.containers + containers <= deps.config.maxSandboxes;
        if (!fits && this.warmPool.size > 0) void this.warmPool.evictOne().catch(() => undefined);
        return fits;
      },
    });
    this.gradingQueue = gradingQueue;
    const terminals = new TerminalRegistry({
      ...deps,
      recordingFile: (attempt) => artifacts.recordingFile(attempt),
      onShellExit: (id) => void onShellExit(this.ctx, id),
      onRecovered: (id, detail) =>
        void deps.repo.addEvent(id, 'recovered', detail).catch((err: Error) => deps.log.error({ attemptId: id, err: err.message }, 'could not record a recovery')),
      settled: (id) => this.settled(id),
    });
    this.ctx = {
      deps,
      warmPool: this.warmPool,
      ownership: this.ownership,
      gradingQueue,
      artifacts,
      terminals,
      pushes: new AttemptPushes({
        bus: deps.push ?? localPushBus(),
        terminals,
        load: (id) => deps.repo.get(id),
        view: (attempt) => this.view(attempt),
        log: deps.log,
      }),
      // (Only the owner's timer expires an attempt; a replica that takes it over arms its own.)
      deadlines: new DeadlineTimers({
        load: (id) => deps.repo.get(id),
        expire: async (id) => (this.ownership.owns(id) ? this.expire(id) : undefined),
        log: deps.log,
      }),
      provisioning: new Set(),
      settling: new Map(),
      ending: new Map(),
      view: (attempt) => this.view(attempt),
    };
    this.feedback = new Feedback(this.ctx);
    this.regrader = new Regrader(this.ctx);
    this.reconciler = new Reconciler(this.ctx, (id) => this.feedback.forget(id));
  }

  view(attempt: Attempt): AttemptView {
    // Only while a grading of it waits or runs.
    const grading = this.gradingQueue.position(attempt.id);
    return { ...attemptView(attempt, this.deps.catalog), ...(grading ? { grading } : {}) };
  }

  get(id: string): Promise<Attempt | undefined> {
    return this.deps.repo.get(id);
  }

  /** Constant-time check of an attempt token. */
  tokenMatches(attempt: Attempt, token: string): boolean {
    return tokenMatches(attempt, token);
  }

  /** What the data directory holds against its budget. */
  dataUsage(): Promise<DataUsage> {
    return this.ctx.artifacts.budget.usage();
  }

  recordingFile(attempt: Attempt): string {
    return this.ctx.artifacts.recordingFile(attempt);
  }

  /** Starts an attempt: provisions its sandbox, attaches the shell and starts the clock. */
  start(exerciseId: string, opts: StartOptions = {}): Promise<{ attempt: Attempt; token: string }> {
    return startAttempt(this.ctx, exerciseId, opts);
  }

  /**
   * Resolves once the attempt's start is complete, its initial snapshot stored (at once for any other attempt):
   * what may change the sandbox's files on the candidate's behalf waits for it.
   */
  settled(id: string): Promise<void> {
    return this.ctx.settling.get(id) ?? Promise.resolve();
  }

  submit(id: string): Promise<Attempt> {
    return this.end(id, 'submitted');
  }

  expire(id: string): Promise<Attempt> {
    return this.end(id, 'expired');
  }

  /** Ends a running attempt; concurrent calls share one ending. */
  end(id: string, reason: EndReason): Promise<Attempt> {
    return endAttempt(this.ctx, id, reason);
  }

  /** Runs the checks now, during the attempt (at most one run at a time, CHECK_INTERVAL_MS apart). */
  async runChecks(id: string): Promise<StoredRun> {
    await this.settled(id);
    return this.feedback.runChecks(id);
  }

  /** The grading queue's figures (`/api/health`). */
  gradingStats(): GradingQueueStats {
    return this.gradingQueue.stats();
  }

  /** Where the attempt's grading stands in the queue (waiting, with how many ahead, or running); null when none. */
  gradingPosition(id: string): GradingPosition | null {
    return this.gradingQueue.position(id);
  }

  /** The final grading of an attempt (for reviewers: with details). */
  finalRun(attemptId: string): Promise<StoredRun | undefined> {
    return this.deps.grading.final(attemptId);
  }

  /** What the attempt's own holder sees of a run: practice shows every check's message, interviews the visible ones. */
  candidateResults(run: StoredRun, attempt: Attempt): CandidateResults {
    return candidateResults(run, attempt);
  }

  /** Reveals the next hint (recorded in the attempt) and returns every hint revealed so far. */
  revealHint(id: string): Promise<{ revealed: string[]; total: number }> {
    return this.feedback.revealHint(id);
  }

  hints(attempt: Attempt): { revealed: string[]; total: number } {
    return this.feedback.hints(attempt);
  }

  snapshotDiff(attemptId: string): SnapshotDiff | null {
    return this.ctx.artifacts.snapshotDiff(attemptId);
  }

  /** Moves a running attempt's deadline by `seconds`; the candidate's countdown follows at once. */
  async extend(id: string, seconds: number): Promise<Attempt> {
    const { repo } = this.deps;
    const attempt = await repo.get(id);
    if (!attempt) throw errors.attemptNotFound();
    if (attempt.state !== 'running' || attempt.deadline === null) throw errors.attemptNotRunning(attempt.state);
    const deadline = attempt.deadline + seconds * 1000;
    const updated = await repo.update(
      id,
      { deadline, timeLimitSeconds: attempt.timeLimitSeconds + seconds },
      ['running'],
    );
    if (!updated) throw errors.attemptNotRunning((await repo.get(id))?.state ?? 'gone');
    await repo.addEvent(id, 'extended', { seconds, deadline: new Date(deadline).toISOString() });
    this.ctx.deadlines.arm(updated);
    // Wherever the terminal is held: the marker in its recording, the new deadline to its browsers.
    await this.ctx.pushes.send({ attemptId: id, marker: `${MARKERS.extended} ${Math.round(seconds / 60)} min`, refresh: true });
    return updated;
  }

  /**
   * Gives an attempt a new access token (stored as its hash): the old one stops working at once, and a browser
   * holding it loses its terminal. `event` goes to the attempt's events (the review shows it), `marker` to the
   * recording. Only while the attempt is created or running.
   */
  async replaceToken(id: string, tokenHash: string, event: { kind: string; detail: unknown }, marker?: string): Promise<Attempt> {
    const updated = await this.deps.repo.update(id, { tokenHash }, ['created', 'running']);
    if (!updated) throw errors.attemptNotRunning((await this.deps.repo.get(id))?.state ?? 'gone');
    await this.deps.repo.addEvent(id, event.kind, event.detail);
    await this.ctx.pushes.send({
      attemptId: id,
      ...(marker ? { marker } : {}),
      closeCandidate: { code: CLOSE_CODES.moved, text: 'This attempt was moved to another browser.' },
    });
    return updated;
  }

  /**
   * Deletes an attempt and everything kept of it: sandbox, recording, snapshots, gradings, reviews, events (and
   * the invite, which holds the candidate's name and email). A running attempt is stopped first, ungraded.
   */
  deleteAttempt(id: string): Promise<void> {
    return deleteAttempt(this.ctx, id, (gone) => this.feedback.forget(gone));
  }

  /**
   * Deletes attempts that ended (or failed) before `cutoff` (epoch ms), and invites that expired unused before
   * it; returns the attempts' ids.
   */
  purgeEndedBefore(cutoff: number): Promise<string[]> {
    return purgeEndedBefore(this.ctx, cutoff, (gone) => this.feedback.forget(gone));
  }

  /**
   * Practice: puts the sandbox back to its initial state (a new container, seeded with the same variant) under the
   * same attempt, clock and recording. The old container is removed.
   */
  async resetSandbox(id: string): Promise<Attempt> {
    await this.settled(id);
    return resetSandbox(this.ctx, id);
  }

  /** Starts the shell again in the same container after it exited; files are kept. */
  async restartShell(id: string): Promise<Attempt> {
    await this.settled(id);
    return restartShell(this.ctx, id);
  }

  /**
   * The live terminal of a running attempt, opening (and adopting the shell) when needed. An attempt that ended
   * while its terminal was being opened gets no terminal: the one just opened is closed again (nothing stays
   * open, recording or attached, for an ended attempt), and the caller is told the attempt ended.
   */
  async terminalFor(attempt: Attempt, n = 1, opts: { startShell?: boolean } = {}): Promise<AttemptTerminal> {
    const terminal = await this.ctx.terminals.terminalN(attempt, n, opts);
    const now = await this.deps.repo.get(attempt.id);
    if (!now || now.state !== 'running' || this.ctx.ending.has(attempt.id) || terminal.isClosed) {
      if (n === 1 && this.ctx.terminals.get(attempt.id) === terminal && !this.ctx.ending.has(attempt.id)) {
        this.ctx.terminals.take(attempt.id)?.close({ code: CLOSE_CODES.ended, text: 'The attempt has ended.' });
      }
      throw errors.attemptEnded(now?.state ?? 'gone');
    }
    return terminal;
  }

  /** Whether this server owns the attempt (among replicas: holds its lease). */
  owns(attemptId: string): boolean {
    return this.ownership.owns(attemptId);
  }

  /** Tells the attempt's candidate what happened to the sandbox: a marker in the recording, a notice on screen. */
  async notify(attempt: Attempt, marker: string, notice: SandboxNotice): Promise<void> {
    const terminal = await this.terminalFor(attempt);
    terminal.marker(marker);
    terminal.broadcast({ type: 'notice', ...notice });
  }

  /** Writes a marker into the recording of the attempt's live terminal (none open: nothing is written). */
  markRecording(id: string, label: string): void {
    void this.ctx.pushes.send({ attemptId: id, marker: label });
  }

  /** Makes sure the recording on disk holds everything buffered so far (before a download). */
  flushRecording(id: string): void {
    this.ctx.terminals.get(id)?.flush();
  }

  /**
   * Brings the database and the engine into agreement: adopt running sandboxes, expire the overdue, mark vanished
   * sandboxes, fail interrupted provisioning, finish archiving, and remove containers no attempt owns.
   */
  reconcile(): Promise<ReconcileReport> {
    return this.reconciler.reconcile();
  }

  /** Registers this replica, then reconciles now and every `reconcileIntervalMs`. */
  async startBackground(): Promise<ReconcileReport> {
    await this.ownership.start();
    await this.ctx.pushes.start();
    return this.reconciler.startBackground();
  }

  /** Where the attempt's terminal is served: here (taking over an attempt whose owner died), or at its owner. */
  terminalHome(attemptId: string): Promise<{ here: true } | { here: false; address: string }> {
    return terminalHome(this.ctx, attemptId);
  }

  /** An attempt has no live owner: a reconcile pass takes it over (at most one such pass per lease time). */
  private takeOver(): void {
    const now = Date.now();
    if (this.windingDown || now - this.takeOverAt < this.ownership.leaseMs) return;
    this.takeOverAt = now;
    this.reconciler.reconcile().catch((err: Error) => this.deps.log.error({ err: err.message }, 'take-over pass failed'));
  }

  /** No reconcile pass from now on (the first thing a shutdown does); resolves when the pass in flight is over. */
  stopReconciling(): Promise<void> {
    this.windingDown = true;
    return this.reconciler.stop();
  }

  /**
   * Stops timers and detaches from every shell without stopping it: after a restart, the next server adopts
   * the same containers with their shells.
   */
  async shutdown(): Promise<void> {
    this.windingDown = true;
    this.ctx.deadlines.stop();
    await this.reconciler.stop();
    // Starts that answered finish putting their files in place first (their attempts would be failed otherwise).
    await Promise.allSettled([...this.ctx.settling.values()]);
    await Promise.allSettled([...this.ctx.ending.values()]);
    await this.warmPool.shutdown();
    this.ctx.pushes.stop();
    this.ctx.terminals.closeAll({ code: 1012, text: 'The server is restarting; reconnecting…' });
    // Detached from every shell: another replica may take the attempts over at once.
    await this.ownership.stop({ release: true });
  }
}
