import fs from 'node:fs';
import type { HeldOutput, TerminalSession } from './terminal-session.js';
import { ScreenMirror } from './mirror.js';
import { AsciicastRecorder, MARKERS } from './recorder.js';
import { CLOSE_CODES } from '../../../contract/terminal.js';

/** Flow control watermarks (bytes sent to a client and not yet acknowledged, or not yet parsed by the mirror). */
export const HIGH_WATERMARK = 256 * 1024;
export const LOW_WATERMARK = 64 * 1024;
/** A client that acknowledges nothing for this long while output is held back for it is disconnected. */
export const STALLED_CLIENT_MS = 30_000;
/**
 * A read-only viewer never holds the candidate's shell back: one that falls this far behind is disconnected
 * (its page reconnects and is repainted from the mirror).
 */
export const VIEWER_MAX_UNACKED = 4 * HIGH_WATERMARK;
/** Input held back while the start completes (holdInput), beyond which further input is dropped. */
export const MAX_HELD_INPUT_BYTES = 64 * 1024;

export { CLOSE_CODES } from '../../../contract/terminal.js';

/** What the terminal needs from one connected browser. */
export interface TerminalClient {
  sendOutput(chunk: Buffer | string): void;
  sendControl(message: Record<string, unknown>): void;
  close(code: number, reason: string): void;
}

interface ClientState {
  /** Watches without typing (an interviewer's live view); does not replace the candidate's window. */
  viewer: boolean;
  unacked: number;
  /** Output that arrived while the repaint snapshot was being taken; sent right after it. */
  queue: (Buffer | string)[] | null;
  overSince: number | null;
}

export interface AttemptTerminalOptions {
  attemptId: string;
  recordingFile: string;
  startedAt: number;
  recordingMaxBytes: number;
  cols?: number;
  rows?: number;
  onShellExit: () => void;
  log: (msg: string, extra?: Record<string, unknown>) => void;
}

/**
 * One attempt's live terminal: the shell's TTY session, the screen mirror, the recorder, and the browser
 * connected to it, with flow control between them.
 */
export class AttemptTerminal {
  private session: TerminalSession | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly mirror: ScreenMirror;
  private readonly recorder: AsciicastRecorder;
  private readonly clients = new Map<TerminalClient, ClientState>();
  private paused = false;
  private closed = false;
  /** The size the shell's TTY should get next, and the engine call applying sizes (one at a time). */
  private wantedSize: { cols: number; rows: number } | null = null;
  private resizing: Promise<void> | null = null;
  private connections = 0;
  private readonly stallTimer: NodeJS.Timeout;
  /** The attempt's further terminals (terminal 2): they hear its broadcasts and close with it. */
  private readonly companions = new Set<AttemptTerminal>();
  /** Input waiting for holdInput's promise, in order. */
  private held: { chunks: Buffer[]; bytes: number } | null = null;

  private constructor(
    private readonly opts: AttemptTerminalOptions,
    mirror: ScreenMirror,
  ) {
    this.mirror = mirror;
    this.recorder = new AsciicastRecorder({
      file: opts.recordingFile,
      cols: mirror.cols,
      rows: mirror.rows,
      startedAt: opts.startedAt,
      maxBytes: opts.recordingMaxBytes,
    });
    this.stallTimer = setInterval(() => this.dropStalledClients(), 5_000);
    this.stallTimer.unref();
  }

  /** A terminal for a new attempt, or one whose screen is rebuilt from its recording (after a server restart). */
  static async open(opts: AttemptTerminalOptions): Promise<AttemptTerminal> {
    const mirror = new ScreenMirror(opts.cols ?? 80, opts.rows ?? 24);
    await replayInto(mirror, opts.recordingFile);
    return new AttemptTerminal(opts, mirror);
  }

  get size(): { cols: number; rows: number } {
    return { cols: this.mirror.cols, rows: this.mirror.rows };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get hasShell(): boolean {
    return this.session !== null;
  }

  marker(label: string): void {
    this.recorder.marker(label);
  }

  /** Writes buffered recording events to disk now (its companions' too). */
  flush(): void {
    if (!this.closed) this.recorder.flush();
    for (const companion of this.companions) companion.flush();
  }

  /**
   * Binds a further terminal of the same attempt to this one: it gets this terminal's broadcasts (attempt
   * updates, notices) and closes with it, with the same reason and marker.
   */
  addCompanion(companion: AttemptTerminal): void {
    if (this.closed) {
      companion.close({ code: CLOSE_CODES.ended, text: 'The attempt has ended.' });
      return;
    }
    this.companions.add(companion);
  }

  /** Connects the shell. Output starts flowing into mirror, recorder and clients. */
  attachSession(session: TerminalSession, held?: HeldOutput): void {
    if (this.closed) {
      held?.release();
      session.close();
      return;
    }
    this.detachSession();
    this.session = session;
    this.paused = false;
    // What the session printed before this terminal took it over, then the rest, with nothing between the two.
    const early = held?.release() ?? [];
    for (const chunk of early) this.onOutput(chunk);
    this.unsubscribe = session.onData((chunk) => this.onOutput(chunk));
    if (held?.paused && !this.paused) session.resume();
    void session.resize(this.mirror.cols, this.mirror.rows).catch(() => undefined);
    void session.ended.then(() => {
      if (this.session !== session) return;
      this.detachSession();
      if (this.closed) return;
      this.recorder.marker(MARKERS.shellExited);
      this.recorder.flush();
      this.broadcast({ type: 'shell-exited' });
      this.opts.onShellExit();
    });
  }

  private detachSession(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.session?.close();
    this.session = null;
  }

  /**
   * Adds a browser. The candidate's newest window replaces an earlier one (told so); viewers watch alongside
   * and replace no one.
   */
  async connect(client: TerminalClient, opts: { viewer?: boolean } = {}): Promise<void> {
    const viewer = opts.viewer ?? false;
    if (!viewer) {
      for (const [other, otherState] of [...this.clients]) {
        if (otherState.viewer) continue;
        this.clients.delete(other);
        other.close(CLOSE_CODES.replaced, 'This attempt was opened in another window.');
      }
      if (this.connections++ > 0) this.recorder.marker(MARKERS.reconnected);
    }
    const state: ClientState = { viewer, unacked: 0, queue: [], overSince: null };
    this.clients.set(client, state);
    await this.repaint(client, state);
  }

  /** Closes the candidate's window (not the viewers'), in every terminal of the attempt: its credential was withdrawn. */
  closeCandidate(code: number, reason: string): void {
    for (const [client, state] of [...this.clients]) {
      if (state.viewer) continue;
      this.clients.delete(client);
      client.close(code, reason);
    }
    this.updateFlow();
    for (const companion of this.companions) companion.closeCandidate(code, reason);
  }

  get viewerCount(): number {
    let n = 0;
    for (const state of this.clients.values()) if (state.viewer) n++;
    return n;
  }

  /** Sends the client the current screen, then whatever arrived meanwhile. */
  private async repaint(client: TerminalClient, state: ClientState): Promise<void> {
    state.queue ??= [];
    const screen = await this.mirror.snapshot();
    if (!this.clients.has(client)) return;
    client.sendControl({ type: 'repaint', cols: this.mirror.cols, rows: this.mirror.rows });
    this.send(client, state, screen);
    const queued = state.queue ?? [];
    state.queue = null;
    for (const chunk of queued) this.send(client, state, chunk);
    if (!this.session) client.sendControl({ type: 'shell-exited' });
    this.updateFlow();
  }

  disconnect(client: TerminalClient): void {
    if (this.clients.delete(client)) this.updateFlow();
  }

  /**
   * Holds the shell's input back until `until` settles, then writes it in order (recorded as it is written); input
   * beyond MAX_HELD_INPUT_BYTES meanwhile is dropped. Output, resizes and connections go on as usual.
   */
  holdInput(until: Promise<unknown>): void {
    const held = { chunks: [] as Buffer[], bytes: 0 };
    this.held = held;
    const release = () => {
      if (this.held !== held) return;
      this.held = null;
      for (const chunk of held.chunks) this.input(chunk);
    };
    until.then(release, release);
  }

  input(data: Buffer): void {
    if (!this.session || this.closed) return;
    if (this.held) {
      if (this.held.bytes + data.length <= MAX_HELD_INPUT_BYTES) {
        this.held.chunks.push(data);
        this.held.bytes += data.length;
      }
      return;
    }
    this.recorder.input(data);
    this.session.write(data);
  }

  async resize(cols: number, rows: number): Promise<void> {
    if (this.closed || (cols === this.mirror.cols && rows === this.mirror.rows)) return;
    this.mirror.resize(cols, rows);
    this.recorder.resize(cols, rows);
    // A storm of resizes (a browser window dragged, or a hostile client) becomes a few engine calls: one at a
    // time, each with the newest size. One call per message would send the shell a SIGWINCH (and a prompt redraw)
    // for every one of thousands of sizes, which kept it busy for many seconds.
    this.wantedSize = { cols, rows };
    await this.applySize();
    // Viewers follow the candidate's size: repaint them at the new one.
    for (const [client, state] of this.clients) {
      if (state.viewer && state.queue === null) void this.repaint(client, state);
    }
  }

  private applySize(): Promise<void> {
    this.resizing ??= (async () => {
      try {
        while (this.wantedSize && this.session && !this.closed) {
          const { cols, rows } = this.wantedSize;
          this.wantedSize = null;
          await this.session.resize(cols, rows).catch(() => undefined);
        }
      } finally {
        this.resizing = null;
      }
    })();
    return this.resizing;
  }

  ack(client: TerminalClient, bytes: number): void {
    const state = this.clients.get(client);
    if (!state) return;
    state.unacked = Math.max(0, state.unacked - bytes);
    this.updateFlow();
  }

  broadcast(message: Record<string, unknown>): void {
    for (const client of this.clients.keys()) client.sendControl(message);
    for (const companion of this.companions) companion.broadcast(message);
  }

  /** Ends the terminal for good: closes browsers with the reason, detaches the shell, closes the recording. */
  close(reason: { code: number; text: string; marker?: string }): void {
    if (this.closed) return;
    if (reason.marker) this.recorder.marker(reason.marker);
    this.closed = true;
    clearInterval(this.stallTimer);
    for (const client of this.clients.keys()) client.close(reason.code, reason.text);
    this.clients.clear();
    this.detachSession();
    this.recorder.close();
    this.mirror.dispose();
    for (const companion of this.companions) companion.close(reason);
    this.companions.clear();
  }

  /** Bytes held in memory on the way to consumers (for tests and the memory bound). */
  get pressure(): number {
    let max = this.mirror.pending;
    for (const state of this.clients.values()) if (!state.viewer) max = Math.max(max, state.unacked);
    return max;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private onOutput(chunk: Buffer): void {
    this.recorder.output(chunk);
    this.mirror.write(chunk, () => this.updateFlow());
    for (const [client, state] of this.clients) {
      if (state.queue) state.queue.push(chunk);
      else this.send(client, state, chunk);
    }
    this.updateFlow();
  }

  private send(client: TerminalClient, state: ClientState, chunk: Buffer | string): void {
    if (chunk.length === 0) return;
    state.unacked += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (state.viewer && state.unacked > VIEWER_MAX_UNACKED) {
      this.clients.delete(client);
      client.close(CLOSE_CODES.stalled, 'The live view fell behind; reconnecting repaints it.');
      return;
    }
    client.sendOutput(chunk);
  }

  private updateFlow(): void {
    if (!this.session) return;
    const pressure = this.pressure;
    const now = Date.now();
    for (const state of this.clients.values()) {
      if (state.unacked > HIGH_WATERMARK) state.overSince ??= now;
      else if (state.unacked < LOW_WATERMARK) state.overSince = null;
    }
    if (!this.paused && pressure > HIGH_WATERMARK) {
      this.paused = true;
      this.session.pause();
    } else if (this.paused && pressure < LOW_WATERMARK) {
      this.paused = false;
      this.session.resume();
    }
  }

  private dropStalledClients(): void {
    const now = Date.now();
    for (const [client, state] of this.clients) {
      if (state.overSince !== null && now - state.overSince > STALLED_CLIENT_MS) {
        this.opts.log('terminal client stalled; disconnecting', { attemptId: this.opts.attemptId });
        this.clients.delete(client);
        client.close(CLOSE_CODES.stalled, 'The browser stopped acknowledging output.');
      }
    }
    this.updateFlow();
  }
}

/** Rebuilds the screen from a recording: output and resizes, in order. */
async function replayInto(mirror: ScreenMirror, file: string): Promise<void> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    return;
  }
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      continue; // a half-written last line after a crash
    }
    if (!Array.isArray(ev) || typeof ev[2] !== 'string') continue;
    if (ev[1] === 'o') mirror.write(ev[2]);
    else if (ev[1] === 'r') {
      const m = /^(\d+)x(\d+)$/.exec(ev[2]);
      if (m) {
        // Resizing applies at once while writes are parsed later: let the earlier output land first.
        await mirror.drain();
        mirror.resize(Number(m[1]), Number(m[2]));
      }
    }
  }
  await mirror.drain();
}
