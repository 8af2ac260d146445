import type { Attempt, AttemptsRepo } from '../store/attempts-repo.js';
import type { AttemptNotices, Logger } from './notices.js';
import type { SandboxDriver } from './sandbox-driver.js';

/** The attempt event written when a sandbox is stopped for its disk use. */
export const DISK_QUOTA_EVENT = 'disk-quota';
/** The terminal notice's code (docs/api.md: `notice`). */
export const DISK_QUOTA_NOTICE = 'disk_quota';
/**
 * After a stop, a restarted shell may stay over the quota this long, and never above what it had written when it
 * was stopped, so the candidate can delete files; then it is stopped again.
 */
export const DISK_QUOTA_GRACE_MS = 60_000;

const MiB = 1024 * 1024;

export interface DiskWatchDeps {
  driver: SandboxDriver;
  repo: AttemptsRepo;
  /** Where the candidate is told (the attempt service). */
  attempts: AttemptNotices;
  /** 0 turns the watch off. */
  quotaBytes: number;
  intervalMs: number;
  log: Logger;
  graceMs?: number;
}

export interface DiskSweep {
  /** Sandboxes sampled in this sweep. */
  sampled: number;
  /** Attempts whose sandbox was stopped in this sweep. */
  stopped: string[];
  /** Wall time of the sweep, and of its slowest single sample (ms). */
  ms: number;
  maxSampleMs: number;
}

interface OverQuota {
  /** Bytes written when the sandbox was stopped: a restarted sandbox may not go past them. */
  bytesAtStop: number;
  /** When the sandbox was first seen running again after the stop. */
  runningAgainSince: number | null;
}

/**
 * The per-attempt disk quota. overlay2 on ext4 cannot limit a container's writable layer (`--storage-opt size`
 * needs xfs with project quotas), so this samples the size of each running sandbox's writable layer every
 * `intervalMs` and stops a sandbox past the quota: its shell ends with a notice and a recording marker, the attempt
 * gets a `disk-quota` event, and the attempt stays running and gradable (its files are kept; submitting grades
 * them).
 *
 * Cost: one engine inspect-with-size per running sandbox per sweep, one at a time. The engine walks the writable
 * layer's directory for it: about 1 ms for a freshly provisioned sandbox, about 1 s of the engine's CPU for a layer
 * of 100,000 files. Sweeps never overlap: the next starts `intervalMs` after the previous one ended.
 */
export class DiskWatch {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<DiskSweep> | null = null;
  private stopped = false;
  private readonly over = new Map<string, OverQuota>();
  /** The last sweep's figures (for logs and tests). */
  last: DiskSweep | null = null;

  constructor(private readonly deps: DiskWatchDeps) {}

  get enabled(): boolean {
    return this.deps.quotaBytes > 0 && typeof this.deps.driver.diskUsage === 'function';
  }

  start(): void {
    if (!this.enabled || this.timer || this.stopped) return;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.sweeping?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sweep()
        .catch((err: Error) => this.deps.log.error({ err: err.message }, 'disk quota sweep failed'))
        .finally(() => this.schedule());
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** Samples every running sandbox once and stops those over the quota; concurrent calls share one sweep. */
  sweep(): Promise<DiskSweep> {
    if (!this.sweeping) this.sweeping = this.doSweep().finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private async doSweep(): Promise<DiskSweep> {
    const { driver, repo, quotaBytes, log } = this.deps;
    const started = performance.now();
    const result: DiskSweep = { sampled: 0, stopped: [], ms: 0, maxSampleMs: 0 };
    if (!this.enabled || !driver.diskUsage) return result;
    const running = (await repo.listInStates(['running'])).filter(
      (a) => a.sandboxId && a.sandboxStatus !== 'missing' && this.deps.attempts.owns(a.id),
    );
    const live = new Set<string>();
    for (const attempt of running) {
      if (this.stopped) break;
      const sandboxId = attempt.sandboxId!;
      live.add(sandboxId);
      const t0 = performance.now();
      let usage: { bytes: number; running: boolean } | null;
      try {
        usage = await driver.diskUsage(sandboxId);
      } catch (err) {
        log.warn({ attemptId: attempt.id, err: (err as Error).message }, 'disk usage of a sandbox could not be read');
        continue;
      }
      result.sampled++;
      result.maxSampleMs = Math.max(result.maxSampleMs, performance.now() - t0);
      if (!usage || !usage.running) continue;
      if (usage.bytes <= quotaBytes) {
        this.over.delete(sandboxId);
        continue;
      }
      const prior = this.over.get(sandboxId);
      if (prior) {
        // Stopped before and started again (the candidate restarted the shell): time to delete files, not to write.
        const now = Date.now();
        prior.runningAgainSince ??= now;
        const grace = this.deps.graceMs ?? DISK_QUOTA_GRACE_MS;
        if (usage.bytes <= prior.bytesAtStop && now - prior.runningAgainSince < grace) continue;
      }
      // The attempt may have ended while it was being sampled.
      const current = await repo.get(attempt.id);
      if (!current || current.state !== 'running' || current.sandboxId !== sandboxId) continue;
      await this.enforce(current, usage.bytes);
      result.stopped.push(attempt.id);
    }
    for (const id of this.over.keys()) if (!live.has(id)) this.over.delete(id);
    result.ms = performance.now() - started;
    this.last = result;
    return result;
  }

  /** Stops the sandbox: notice, marker and event first, so the candidate learns why the shell ended. */
  private async enforce(attempt: Attempt, bytes: number): Promise<void> {
    const { driver, repo, attempts, quotaBytes, log } = this.deps;
    const sandboxId = attempt.sandboxId!;
    // Rounded up: stopped just past the quota never reads as written up to it.
    const usedMb = Math.ceil(bytes / MiB);
    const quotaMb = Math.round(quotaBytes / MiB);
    this.over.set(sandboxId, { bytesAtStop: bytes, runningAgainSince: null });
    const message =
      `The sandbox wrote ${usedMb} MB to its disk, over its quota of ${quotaMb} MB, and was stopped. Your files are ` +
      `kept and you can still submit. Restart the shell and delete files within ${Math.round(
        (this.deps.graceMs ?? DISK_QUOTA_GRACE_MS) / 1000,
      )} s to get under the quota, or it is stopped again.`;
    await repo.addEvent(attempt.id, DISK_QUOTA_EVENT, { usedMb, quotaMb, sandboxId });
    log.warn({ attemptId: attempt.id, usedMb, quotaMb }, 'sandbox over its disk quota: stopping it');
    try {
      await attempts.notify(attempt, `disk quota: ${usedMb} MB of ${quotaMb} MB, sandbox stopped`, {
        level: 'error',
        code: DISK_QUOTA_NOTICE,
        message,
      });
    } catch (err) {
      log.warn({ attemptId: attempt.id, err: (err as Error).message }, 'disk quota notice could not be sent');
    }
    // Best effort, also into the terminal itself (kept in the screen and the recording). Under runc the TTY is
    // /dev/console; gVisor has none and gives a command started from outside no way to the shell's TTY.
    await driver
      .exec(
        sandboxId,
        ['sh', '-c', '[ -c /dev/console ] && printf "\\r\\n[opslab] %s\\r\\n" "$1" > /dev/console', 'sh', message],
        { timeoutMs: 1000 },
      )
      .catch(() => undefined);
    // No grace period: the writer is killed at once (the shell ignores SIGTERM anyway).
    await driver.stop(sandboxId, 0);
    // What it holds now that it is stopped: the writer went on between the sample and the stop (for seconds under a
    // slow engine), and the grace after a restart measures the deleting against this, not against the sample.
    const stoppedAt = await driver.diskUsage!(sandboxId).catch(() => null);
    if (stoppedAt && stoppedAt.bytes > bytes) this.over.set(sandboxId, { bytesAtStop: stoppedAt.bytes, runningAgainSince: null });
  }
}

/** A job container's disk quota (see watchJobDisk). */
export interface JobDiskQuota {
  /** Bytes the job may have in its writable layer (the copy it was given included); 0: no quota. */
  quotaBytes: number;
  intervalMs: number;
}

export interface JobDiskGuard {
  /** Ends the sampling; resolves once a sample in flight is done. */
  stop(): Promise<void>;
  /** Bytes written when the container was stopped for its disk use, or null. */
  readonly stoppedAt: number | null;
}

/**
 * The disk quota of a short job (a clean room running the candidate's code): the same measure as a sandbox's (the
 * writable layer's size, sampled every `intervalMs`), and past the quota the container is stopped at once, which
 * ends the job. A job has no shell to come back to, so there is no grace: its result says why it ended.
 */
export function watchJobDisk(driver: SandboxDriver, id: string, quota: JobDiskQuota): JobDiskGuard {
  let stoppedAt: number | null = null;
  if (quota.quotaBytes <= 0 || typeof driver.diskUsage !== 'function') {
    return { stop: async () => undefined, get stoppedAt() { return stoppedAt; } };
  }
  let done = false;
  let timer: NodeJS.Timeout | null = null;
  let sampling: Promise<void> = Promise.resolve();
  const sample = async () => {
    const usage = await driver.diskUsage!(id).catch(() => null);
    if (done || !usage || !usage.running || usage.bytes <= quota.quotaBytes) return;
    stoppedAt = usage.bytes;
    done = true;
    await driver.stop(id, 0).catch(() => undefined);
  };
  const schedule = () => {
    if (done) return;
    timer = setTimeout(() => {
      timer = null;
      sampling = sample().finally(schedule);
    }, quota.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      done = true;
      if (timer) clearTimeout(timer);
      await sampling.catch(() => undefined);
    },
    get stoppedAt() {
      return stoppedAt;
    },
  };
}
