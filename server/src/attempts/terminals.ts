import fs from 'node:fs';
import { CLOSE_CODES } from '../../../contract/terminal.js';
import type { Config } from '../config.js';
import type { Logger } from '../sandbox/notices.js';
import type { SandboxDriver } from '../sandbox/sandbox-driver.js';
import type { Attempt } from '../store/attempts-repo.js';
import { AttemptTerminal } from '../terminal/attempt-terminal.js';
import { MARKERS } from '../terminal/recorder.js';
import { recoverIntoRecording } from '../terminal/recovery.js';
import { holdOutput, type HeldOutput } from '../terminal/terminal-session.js';
import { terminalRecordingFile } from '../terminal/terminal-files.js';
import { errors } from '../errors.js';

/** What a shell may print between its attach and its terminal taking it over before it is paused. */
const HELD_OUTPUT_BYTES = 1024 * 1024;

export interface TerminalRegistryDeps {
  config: Pick<Config, 'recordingMaxBytes'>;
  driver: SandboxDriver;
  log: Logger;
  recordingFile(attempt: Attempt): string;
  /** The shell of an attempt's terminal ended. */
  onShellExit(attemptId: string): void;
  /** Output the shell made while no server recorded it was added to the recording from the engine's log. */
  onRecovered?(attemptId: string, detail: { chars: number; joinedBy: string }): void;
  /** Resolves once the attempt's start is complete (its initial snapshot stored): a further shell waits for it. */
  settled?(attemptId: string): Promise<void>;
}

/**
 * The live terminal of each attempt this server serves: one per attempt, opened when its shell is attached (a start,
 * a claim) or on demand for an attempt whose shell runs without one (after a restart: adopted).
 */
export class TerminalRegistry {
  private readonly live = new Map<string, AttemptTerminal>();
  private readonly opening = new Map<string, Promise<AttemptTerminal>>();
  /** Further terminals (2…), by `<attempt id>#<n>`; each is a companion of its attempt's terminal 1. */
  private readonly further = new Map<string, AttemptTerminal>();
  /** Further terminals (by the same key) whose recording already holds a shell. */
  private readonly shellStarted = new Set<string>();

  constructor(private readonly deps: TerminalRegistryDeps) {}

  get(attemptId: string): AttemptTerminal | undefined {
    return this.live.get(attemptId);
  }

  /** The attempt's live terminal `n` (1: the main one). */
  getTerminal(attemptId: string, n: number): AttemptTerminal | undefined {
    return n === 1 ? this.live.get(attemptId) : this.further.get(`${attemptId}#${n}`);
  }

  /**
   * Takes the attempt's terminal out of the registry (the caller closes it; its further terminals, companions of
   * it, close with it).
   */
  take(attemptId: string): AttemptTerminal | undefined {
    const terminal = this.live.get(attemptId);
    this.live.delete(attemptId);
    for (const key of [...this.further.keys()]) if (key.startsWith(`${attemptId}#`)) this.further.delete(key);
    for (const key of [...this.shellStarted]) if (key.startsWith(`${attemptId}#`)) this.shellStarted.delete(key);
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
      // Attach first and hold what the shell prints, then read the engine's log: the recording gets the log up to
      // where the attach's output begins, then the attach's, with nothing lost or doubled between the two.
      const { driver } = this.deps;
      const info = attempt.sandboxId ? await driver.inspect(attempt.sandboxId) : null;
      const session = info?.runState === 'running' ? await driver.attachTerminal(info.id) : null;
      const held = session ? holdOutput(session, HELD_OUTPUT_BYTES) : undefined;
      try {
        await this.recover(attempt, held);
        const terminal = await this.open(attempt);
        terminal.marker(MARKERS.adopted);
        if (session) terminal.attachSession(session, held);
        return terminal;
      } catch (err) {
        held?.release();
        session?.close();
        throw err;
      }
    })().finally(() => this.opening.delete(attempt.id));
    this.opening.set(attempt.id, promise);
    return promise;
  }

  /**
   * The attempt's terminal `n`. Terminal 1 is the sandbox's main shell (terminalFor). A further one is a shell
   * started beside it through the driver (`bash -l` as root on its own TTY), with its own recording and screen
   * mirror, bound to terminal 1 (closed with it). Its shell lives as long as this server holds it: a browser
   * reload or a lost connection finds it again, but after a server restart (or once it exited) the next
   * connection starts a new shell in the same sandbox, files kept, marked `shell-restarted` in its recording.
   */
  async terminalN(attempt: Attempt, n: number, opts: { startShell?: boolean } = {}): Promise<AttemptTerminal> {
    if (n === 1) return this.terminalFor(attempt);
    const startShell = opts.startShell ?? true;
    const key = `${attempt.id}#${n}`;
    const opening = this.opening.get(key);
    if (opening) return opening;
    const promise = (async () => {
      const main = await this.terminalFor(attempt);
      let terminal = this.further.get(key);
      if (terminal?.isClosed) terminal = undefined;
      if (terminal?.hasShell) return terminal;
      const { driver } = this.deps;
      if (!driver.execTerminal) throw errors.badRequest('This sandbox offers one terminal.');
      if (!attempt.sandboxId) throw errors.sandboxMissing();
      const file = terminalRecordingFile(this.deps.recordingFile(attempt), n);
      const fresh = !terminal;
      if (fresh && fs.existsSync(file)) this.shellStarted.add(key);
      terminal ??= await AttemptTerminal.open({
        attemptId: attempt.id,
        recordingFile: file,
        startedAt: attempt.startedAt ?? attempt.createdAt,
        recordingMaxBytes: this.deps.config.recordingMaxBytes,
        cols: main.size.cols,
        rows: main.size.rows,
        // The main shell's exit changes the attempt (its sandbox may have stopped); this one's changes nothing:
        // its page offers a new shell.
        onShellExit: () => undefined,
        log: (msg, extra) => this.deps.log.warn({ attemptId: attempt.id, terminal: n, ...extra }, msg),
      });
      if (fresh) {
        this.further.set(key, terminal);
        main.addCompanion(terminal);
      }
      // A live view watches what there is: it never starts a shell in the candidate's sandbox.
      if (!startShell) return terminal;
      // Like the main shell's input, nothing typed in a further shell reaches the sandbox before its initial
      // snapshot is stored.
      await this.deps.settled?.(attempt.id);
      const size = terminal.size;
      const session = await driver.execTerminal(attempt.sandboxId, { name: String(n), cols: size.cols, rows: size.rows });
      if (main.isClosed || terminal.isClosed) {
        session.close();
        terminal.close({ code: CLOSE_CODES.ended, text: 'The attempt has ended.' });
        return terminal;
      }
      terminal.marker(this.shellStarted.has(key) ? MARKERS.shellRestarted : MARKERS.started);
      this.shellStarted.add(key);
      terminal.attachSession(session);
      return terminal;
    })().finally(() => this.opening.delete(key));
    this.opening.set(key, promise);
    return promise;
  }

  /**
   * Before a shell is adopted again (after a crash or a restart), what it printed meanwhile is taken from the
   * engine's log of it into the recording, so the replay and the repainted screen miss nothing. Never fatal.
   */
  private async recover(attempt: Attempt, held?: HeldOutput): Promise<void> {
    const { driver, log } = this.deps;
    if (!driver.shellLog || !attempt.sandboxId) return;
    const startedAt = attempt.startedAt ?? attempt.createdAt;
    try {
      const entries = await driver.shellLog(attempt.sandboxId, startedAt);
      const r = recoverIntoRecording(this.deps.recordingFile(attempt), startedAt, entries, {
        maxBytes: this.deps.config.recordingMaxBytes,
        // Read after the log: everything the log holds past the attach is in it.
        ...(held ? { attached: held.text() } : {}),
      });
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
    this.further.clear();
    this.shellStarted.clear();
  }
}
