import type { AttemptsRepo } from '../store/attempts-repo.js';
import type { AttemptNotices, Logger } from './notices.js';
import type { SandboxDriver } from './sandbox-driver.js';

/** The attempt event written when the kernel's OOM killer killed a process in the attempt's sandbox. */
export const OOM_EVENT = 'oom';
/** The terminal notice's code (docs/api.md: `notice`). */
export const OOM_NOTICE = 'out_of_memory';
/** At most one event and notice per attempt this often; kills in between are counted into the next one. */
const OOM_QUIET_MS = 5000;
/** A kill is reported this long after it, so a burst is one report and a sandbox the kill stopped shows as stopped. */
const OOM_SETTLE_MS = 1000;

export interface OomWatchDeps {
  driver: SandboxDriver;
  repo: AttemptsRepo;
  /** Where the candidate is told (the attempt service). */
  attempts: AttemptNotices;
  /** The memory limit to name in the notice (MB). */
  memoryMb: (attemptId: string) => Promise<number>;
  log: Logger;
}

/**
 * Tells an attempt why a process died when its sandbox ran out of memory. The kernel kills the biggest process in
 * the sandbox's memory cgroup (only that sandbox's: the limit is per container, with no swap beyond it); the shell
 * usually survives and only prints "Killed". The engine reports every such kill as an `oom` event: the attempt gets
 * an `oom` event, a recording marker and a terminal notice naming the limit. One event stream for all sandboxes.
 */
export class OomWatch {
  private unwatch: (() => void) | null = null;
  private readonly pending = new Map<string, { count: number; timer: NodeJS.Timeout | null; last: number }>();

  constructor(private readonly deps: OomWatchDeps) {}

  start(): void {
    if (this.unwatch || !this.deps.driver.watchOom) return;
    this.unwatch = this.deps.driver.watchOom(
      (sandboxId) => void this.onOom(sandboxId).catch((err: Error) => this.deps.log.error({ sandboxId, err: err.message }, 'out-of-memory notice failed')),
    );
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = null;
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
  }

  private async onOom(sandboxId: string): Promise<void> {
    const attempt = (await this.deps.repo.listInStates(['running'])).find((a) => a.sandboxId === sandboxId);
    // Every replica hears the engine's events; the attempt's owner reports it.
    if (!attempt || !this.deps.attempts.owns(attempt.id)) return;
    let entry = this.pending.get(attempt.id);
    if (!entry) this.pending.set(attempt.id, (entry = { count: 0, timer: null, last: 0 }));
    entry.count++;
    if (entry.timer) return;
    const wait = Math.max(OOM_SETTLE_MS, entry.last + OOM_QUIET_MS - Date.now());
    const flush = () => {
      const e = this.pending.get(attempt.id);
      if (!e) return;
      e.timer = null;
      e.last = Date.now();
      const kills = e.count;
      e.count = 0;
      void this.report(attempt.id, kills);
    };
    entry.timer = setTimeout(flush, wait);
    entry.timer.unref();
  }

  private async report(attemptId: string, kills: number): Promise<void> {
    const { repo, attempts, log } = this.deps;
    const attempt = await repo.get(attemptId);
    if (!attempt || attempt.state !== 'running') return;
    const memoryMb = await this.deps.memoryMb(attemptId);
    // Under gVisor the process the kernel kills is the Sentry, which runs the whole sandbox: say so.
    const info = attempt.sandboxId ? await this.deps.driver.inspect(attempt.sandboxId).catch(() => null) : null;
    const sandboxStopped = info !== null && info.runState !== 'running';
    await repo.addEvent(attemptId, OOM_EVENT, { kills, memoryMb, sandboxStopped });
    log.info({ attemptId, kills, memoryMb, sandboxStopped }, 'out of memory in a sandbox');
    const message = sandboxStopped
      ? `The sandbox ran out of memory (its limit is ${memoryMb} MB) and the kernel stopped it. Your files are kept: ` +
        'restart the shell to go on.'
      : `The sandbox ran out of memory (its limit is ${memoryMb} MB): the kernel killed ` +
        `${kills === 1 ? 'a process' : `${kills} processes`} to stay within it.`;
    try {
      await attempts.notify(attempt, `out of memory: ${kills} killed`, { level: 'warn', code: OOM_NOTICE, message });
    } catch (err) {
      log.warn({ attemptId, err: (err as Error).message }, 'out-of-memory notice could not be sent');
    }
  }
}
