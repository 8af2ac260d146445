import type { Config } from '../config.js';
import type { Logger } from '../sandbox/notices.js';
import type { SandboxDriver } from '../sandbox/sandbox-driver.js';
import type { Attempt } from '../store/attempts-repo.js';
import { AttemptTerminal } from '../terminal/attempt-terminal.js';
import { MARKERS } from '../terminal/recorder.js';
import { recoverIntoRecording } from '../terminal/recovery.js';

export interface TerminalRegistryDeps {
  config: Pick<Config, 'recordingMaxBytes'>;
  driver: SandboxDriver;
  log: Logger;
  recordingFile(attempt: Attempt): string;
  /** The shell of an attempt's terminal ended. */
  onShellExit(attemptId: string): void;
  /** Output the shell made while no server recorded it was added to the recording from the engine's log. */
  onRecovered?(attemptId: string, detail: { chars: number; joinedBy: string }): void;
}

/**
 * The live terminal of each attempt this server serves: one per attempt, opened when its shell is attached (a start,
 * a claim) or on demand for an attempt whose shell runs without one (after a restart: adopted).
 */
export class TerminalRegistry {
  private readonly live = new Map<string, AttemptTerminal>();
  private readonly opening = new Map<string, Promise<AttemptTerminal>>();

  constructor(private readonly deps: TerminalRegistryDeps) {}

  get(attemptId: string): AttemptTerminal | undefined {
    return this.live.get(attemptId);
  }

  /** Takes the attempt's terminal out of the registry (the caller closes it). */
  take(attemptId: string): AttemptTerminal | undefined {
    const terminal = this.live.get(attemptId);
    this.live.delete(attemptId);
    return terminal;
  }

  /** Opens the attempt's terminal and recording (no shell attached yet). */
  async open(attempt: Attempt): Promise<AttemptTerminal> {
    const terminal = await AttemptTerminal.open({
      attemptId: attempt.id,
      recordingFile: this.deps.recordingFile(attempt),
      startedAt: attempt.startedAt ?? attempt.createdAt,
      recordingMaxBytes: this.deps.config.recordingMaxBytes,
      onShellExit: () => this.deps.onShellExit(attempt.id),
      log: (msg, extra) => this.deps.log.warn({ attemptId: attempt.id, ...extra }, msg),
    });
    this.live.set(attempt.id, terminal);
    return terminal;
  }

  /** The live terminal of a running attempt, opening (and adopting the shell) when needed. */
  async terminalFor(attempt: Attempt): Promise<AttemptTerminal> {
    const live = this.live.get(attempt.id);
    if (live && !live.isClosed) return live;
    const opening = this.opening.get(attempt.id);
    if (opening) return opening;
    const promise = (async () => {
      await this.recover(attempt);
      const terminal = await this.open(attempt);
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

  /**
   * Before a shell is adopted again (after a crash or a restart), what it printed meanwhile is taken from the
   * engine's log of it into the recording, so the replay and the repainted screen miss nothing. Never fatal.
   */
  private async recover(attempt: Attempt): Promise<void> {
    const { driver, log } = this.deps;
    if (!driver.shellLog || !attempt.sandboxId) return;
    const startedAt = attempt.startedAt ?? attempt.createdAt;
    try {
      const entries = await driver.shellLog(attempt.sandboxId, startedAt);
      const r = recoverIntoRecording(this.deps.recordingFile(attempt), startedAt, entries, { maxBytes: this.deps.config.recordingMaxBytes });
      if (r.chars > 0) {
        log.info({ attemptId: attempt.id, chars: r.chars, joinedBy: r.joinedBy }, 'recovered shell output from the engine log');
        this.deps.onRecovered?.(attempt.id, { chars: r.chars, joinedBy: r.joinedBy });
      }
    } catch (err) {
      log.warn({ attemptId: attempt.id, err: (err as Error).message }, 'could not recover shell output from the engine log');
    }
  }

  /** Closes every terminal and forgets it; the shells keep running. */
  closeAll(reason: { code: number; text: string }): void {
    for (const terminal of this.live.values()) terminal.close(reason);
    this.live.clear();
  }
}
