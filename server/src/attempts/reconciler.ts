import { removeStaleJobs } from '../grading/index.js';
import { LABELS } from '../sandbox/labels.js';
import type { SandboxInfo } from '../sandbox/sandbox-driver.js';
import { ACTIVE_STATES, type Attempt } from '../store/attempts-repo.js';
import { MARKERS } from '../terminal/recorder.js';
import type { AttemptContext } from './context.js';
import { archive, endAttempt } from './ending.js';
import { finalGrade } from './final-grading.js';
import { purgeByRetention } from './purge.js';
import { slotReplica } from './warm-pool-entries.js';

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

/** Grader and clean-room containers older than this were left by a server that died mid-grading. */
const STALE_JOB_SECONDS = 2 * 3600;

/**
 * Brings the database and the engine into agreement: adopt running sandboxes, expire the overdue, mark vanished
 * sandboxes, fail interrupted provisioning, finish archiving, and remove containers no attempt owns. Then the
 * retention purge, and the warm pool refills into the room that came free.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private reconciling: Promise<ReconcileReport> | null = null;

  /** `forget` drops what the attempt service keeps in memory about an attempt the purge deleted. */
  constructor(
    private readonly ctx: AttemptContext,
    private readonly forget: (id: string) => void,
  ) {}

  /** One pass; concurrent calls share it. */
  reconcile(): Promise<ReconcileReport> {
    if (!this.reconciling) {
      this.reconciling = this.pass().finally(() => (this.reconciling = null));
    }
    return this.reconciling;
  }

  /** Reconciles now and then every `reconcileIntervalMs`. */
  async startBackground(): Promise<ReconcileReport> {
    const report = await this.reconcile();
    // After the first pass, which removed what a previous server's pool left behind.
    this.ctx.warmPool.start();
    this.timer = setInterval(() => {
      this.reconcile().catch((err: Error) => this.ctx.deps.log.error({ err: err.message }, 'reconcile failed'));
    }, this.ctx.deps.config.reconcileIntervalMs);
    this.timer.unref();
    return report;
  }

  /** No pass from now on; resolves when the pass in flight (if any) is over. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reconciling?.catch(() => undefined);
  }

  private busy(id: string): boolean {
    return this.ctx.provisioning.has(id) || this.ctx.ending.has(id);
  }

  private async pass(): Promise<ReconcileReport> {
    const { repo, driver, log } = this.ctx.deps;
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
    const { ownership } = this.ctx;
    const survey = await ownership.survey();
    const sandboxes = await driver.listManaged();
    const byId = new Map(sandboxes.map((s) => [s.id, s]));
    const owned = new Set<string>();
    /** Attempts another live replica owns: their sandboxes are its to look after. */
    const elsewhere = new Set<string>();
    for (const attempt of await repo.listInStates(ACTIVE_STATES)) {
      if (this.busy(attempt.id)) {
        if (attempt.sandboxId) owned.add(attempt.sandboxId);
        continue;
      }
      const lease = survey.leases.get(attempt.id);
      if (ownership.heldElsewhere(lease) || !(await ownership.take(attempt.id, lease ? { lease } : {}))) {
        if (attempt.sandboxId) owned.add(attempt.sandboxId);
        elsewhere.add(attempt.id);
        continue;
      }
      const sandbox = attempt.sandboxId ? byId.get(attempt.sandboxId) : undefined;
      try {
        await this.reconcileAttempt(attempt, sandbox, owned, report);
      } catch (err) {
        log.error({ attemptId: attempt.id, err: (err as Error).message }, 'reconcile failed for attempt');
      }
    }
    await this.removeOrphans(sandboxes, { owned, elsewhere, live: survey.live }, report);
    report.jobsRemoved = await removeStaleJobs(driver, STALE_JOB_SECONDS);
    // One replica at a time purges (the lease outlasts a pass, so the same one keeps it while it is up).
    const purging = await ownership.acquire('retention-purge', 2 * this.ctx.deps.config.reconcileIntervalMs + ownership.leaseMs);
    report.purged = purging
      ? await purgeByRetention(this.ctx, Date.now(), this.forget).catch((err: Error) => {
          log.error({ err: err.message }, 'retention purge failed');
          return [];
        })
      : [];
    if (report.purged.length > 0) log.info({ attempts: report.purged }, 'deleted attempts past the retention period');
    if (report.jobsRemoved.length > 0) log.info({ jobs: report.jobsRemoved }, 'removed stale grading containers');
    // Room may have come free since the last pass.
    this.ctx.warmPool.fill();
    return report;
  }

  private async reconcileAttempt(
    attempt: Attempt,
    sandbox: SandboxInfo | undefined,
    owned: Set<string>,
    report: ReconcileReport,
  ): Promise<void> {
    const { repo } = this.ctx.deps;
    switch (attempt.state) {
      case 'created': {
        // Provisioning was interrupted (the server died in the middle of it).
        await repo.update(attempt.id, { state: 'failed', failure: 'provisioning was interrupted', sandboxStatus: 'removed' }, ['created']);
        await repo.addEvent(attempt.id, 'failed', { error: 'provisioning was interrupted' });
        report.failed.push(attempt.id);
        break;
      }
      case 'running':
        // (Read again: the pass may have waited since it listed the attempts, and a start finished meanwhile.)
        if ((await repo.get(attempt.id))?.sandboxStatus === 'provisioning' && !this.busy(attempt.id)) {
          // The start had answered, but the server died before its files were in place and its initial snapshot
          // stored: an interrupted start like the above (its sandbox, owned by no one now, is removed as an orphan).
          await repo.update(attempt.id, { state: 'failed', failure: 'provisioning was interrupted', sandboxStatus: 'removed' }, ['running']);
          await repo.addEvent(attempt.id, 'failed', { error: 'provisioning was interrupted' });
          report.failed.push(attempt.id);
          break;
        }
        await this.reconcileRunning(attempt, sandbox, owned, report);
        break;
      case 'submitted':
      case 'expired': {
        // Ended but not graded or its sandbox not removed yet (a crash or an engine error in between).
        if (sandbox) owned.add(sandbox.id);
        await finalGrade(this.ctx, attempt);
        if (await archive(this.ctx, attempt)) report.archived.push(attempt.id);
        break;
      }
      default:
        break;
    }
  }

  private async reconcileRunning(
    attempt: Attempt,
    sandbox: SandboxInfo | undefined,
    owned: Set<string>,
    report: ReconcileReport,
  ): Promise<void> {
    const { repo, driver, log } = this.ctx.deps;
    const { terminals } = this.ctx;
    if (attempt.deadline !== null && attempt.deadline <= Date.now()) {
      if (sandbox) owned.add(sandbox.id);
      await endAttempt(this.ctx, attempt.id, 'expired');
      report.expired.push(attempt.id);
      return;
    }
    if (!sandbox) {
      if (attempt.sandboxStatus !== 'missing') {
        const updated = await repo.update(attempt.id, { sandboxStatus: 'missing' }, ['running']);
        await repo.addEvent(attempt.id, 'sandbox-missing');
        log.warn({ attemptId: attempt.id }, 'the sandbox of a running attempt is gone');
        if (updated) terminals.get(attempt.id)?.broadcast({ type: 'attempt', attempt: this.ctx.view(updated) });
        report.missing.push(attempt.id);
      }
      return;
    }
    owned.add(sandbox.id);
    this.ctx.deadlines.arm(attempt);
    const live = terminals.get(attempt.id);
    if (sandbox.runState === 'running') {
      if (!live || live.isClosed) {
        await terminals.terminalFor(attempt);
        await repo.addEvent(attempt.id, 'adopted', { sandboxId: sandbox.id, replica: this.ctx.ownership.id });
        report.adopted.push(attempt.id);
      } else if (!live.hasShell) {
        // The shell's connection ended while its container runs (the engine restarted with live-restore,
        // or the connection to it broke; a shell that exits stops its container): attach to it again.
        live.attachSession(await driver.attachTerminal(sandbox.id));
        live.marker(MARKERS.adopted);
        await repo.addEvent(attempt.id, 'adopted', { sandboxId: sandbox.id, reattached: true });
        report.adopted.push(attempt.id);
        // The browser was told the shell exited: tell it the shell is back.
        const updated = await repo.update(attempt.id, { sandboxStatus: 'running' }, ['running']);
        if (updated) live.broadcast({ type: 'attempt', attempt: this.ctx.view(updated) });
      }
      const current = terminals.get(attempt.id);
      if (attempt.sandboxStatus !== 'running' && current?.hasShell) {
        await repo.update(attempt.id, { sandboxStatus: 'running' }, ['running']);
      }
    } else if (attempt.sandboxStatus === 'running' && !live?.hasShell) {
      await repo.update(attempt.id, { sandboxStatus: 'exited' }, ['running']);
    }
  }

  /**
   * Removes the managed containers that no attempt (and no live replica's warm pool) owns. `elsewhere`: attempts that
   * another live replica owns (a sandbox of theirs being made has no attempt row naming it yet); `live`: the replicas
   * up now.
   */
  private async removeOrphans(
    sandboxes: SandboxInfo[],
    seen: { owned: Set<string>; elsewhere: Set<string>; live: Set<string> },
    report: ReconcileReport,
  ): Promise<void> {
    const { repo, driver, log } = this.ctx.deps;
    const { owned, elsewhere, live } = seen;
    for (const sandbox of sandboxes) {
      if (owned.has(sandbox.id)) continue;
      if (sandbox.attemptId && elsewhere.has(sandbox.attemptId)) continue;
      // A warm-pool sandbox: this server's pool looks after its own. One an attempt claimed has no attempt label; its
      // attempt names it (read now: the claim may be newer than the list above). Any other (a pool of a server
      // that died) is an orphan, never adopted as an attempt.
      const slot = sandbox.labels[LABELS.pool];
      if (slot !== undefined && this.ctx.warmPool.owns(slot)) continue;
      // Another live replica's pool looks after its own.
      const poolOwner = slot !== undefined ? slotReplica(slot) : null;
      if (poolOwner !== null && poolOwner !== this.ctx.ownership.id && live.has(poolOwner)) continue;
      const attemptId =
        sandbox.attemptId ||
        (slot !== undefined ? (await repo.listInStates(ACTIVE_STATES)).find((a) => a.sandboxId === sandbox.id)?.id : undefined) ||
        null;
      if (attemptId && this.busy(attemptId)) continue;
      const attempt = attemptId ? (await repo.get(attemptId)) : undefined;
      if (attempt && attempt.state === 'running' && attempt.sandboxId === sandbox.id) continue;
      await driver.remove(sandbox.id).catch((err: Error) =>
        log.error({ sandboxId: sandbox.id, err: err.message }, 'orphan removal failed'),
      );
      log.info({ sandboxId: sandbox.id, attemptId }, 'removed orphan sandbox');
      report.orphansRemoved.push(sandbox.id);
    }
  }
}
