// One attempt's terminal on a page: the xterm view, its WebSocket (output with acks, input, resizes, reconnects)
// and the connection state pill. The workspace drives the candidate's shell with it; the live view watches the
// same screen read-only, at the candidate's size, with the font shrunk until the whole screen fits.

import { ApiError, isAbort, isAttemptActive, type AttemptView } from '../api.js';
import { h, type Scope } from '../dom.js';
import type { ServerClock } from '../ui/server-clock.js';
import type { Toaster } from '../ui/toast.js';
import { TerminalConnection, type CloseInfo, type ConnectionStatus } from './connection.js';
import { TerminalView } from './terminal-view.js';

/** Font sizes a read-only view may use to fit the candidate's columns and rows into its frame. */
const FONT_MAX = 14;
const FONT_MIN = 8;
const EMPTY = new Uint8Array(0);

/** The server's answers that mean the attempt cannot be used from here any more (gone, or not ours). */
export function isAccessGone(err: unknown): err is ApiError {
  return err instanceof ApiError && [401, 403, 404, 410].includes(err.status);
}

/**
 * Fetches the attempt again for a page with a terminal: resolves whether it still runs. An answer saying it is gone
 * or not ours goes to `lost`; any other failure rejects (a reconnect then tries again later).
 */
export async function refetchAttempt<T>(
  scope: Scope,
  fetch: () => Promise<T>,
  apply: (value: T) => AttemptView,
  lost: (err: ApiError) => void,
): Promise<boolean> {
  try {
    const value = await fetch();
    if (scope.disposed) return false;
    return isAttemptActive(apply(value));
  } catch (err) {
    if (isAbort(err) || scope.disposed) return false;
    if (isAccessGone(err)) {
      lost(err);
      return false;
    }
    throw err;
  }
}

/** The connection state in the page's header: "Connecting…", "Connected", "Reconnecting in 3s", "Ended"… */
export class ConnectionPill {
  readonly element = h('span', { class: 'conn', 'data-testid': 'connection-state', 'data-state': 'connecting' }, 'Connecting…');
  private ended = false;

  /** What the pill says when the socket is open, and when another connection took it over. */
  constructor(private readonly labels: { connected: string; replaced: string }) {}

  render(status: ConnectionStatus): void {
    if (this.ended) {
      this.show('ended', 'Ended');
      return;
    }
    let text: string;
    switch (status.kind) {
      case 'connecting':
        text = status.retry ? 'Reconnecting…' : 'Connecting…';
        break;
      case 'connected':
        text = this.labels.connected;
        break;
      case 'reconnecting': {
        const seconds = Math.ceil((status.at - Date.now()) / 1000);
        text = seconds > 0 ? `Reconnecting in ${seconds}s` : 'Reconnecting…';
        break;
      }
      case 'replaced':
        text = this.labels.replaced;
        break;
      case 'moved':
        text = 'Moved';
        break;
      case 'ended':
        text = 'Ended';
        break;
      case 'closed':
        text = 'Disconnected';
        break;
    }
    this.show(status.kind, text);
  }

  /** The attempt is over: the pill says so whatever the socket does next. */
  end(): void {
    this.ended = true;
    this.show('ended', 'Ended');
  }

  show(state: string, text: string): void {
    this.element.dataset['state'] = state;
    if (this.element.textContent !== text) this.element.textContent = text;
  }
}

export interface TerminalSessionOptions {
  scope: Scope;
  /** The terminal's container. */
  host: HTMLElement;
  /** The WebSocket's address. */
  url: string;
  /** Synced from every attempt the socket sends. */
  clock: ServerClock;
  pill: ConnectionPill;
  /** Shows the server's notices. */
  toaster: Toaster;
  /** The id of the text that tells how to use the terminal (its `aria-describedby`). */
  hintId: string;
  /**
   * Watch only: nothing typed is sent, the size is the one the server repaints at (never this window's), and the
   * font shrinks until the whole screen fits in `frame`.
   */
  readOnly?: { frame: HTMLElement };
  /** F6 / Shift+F6 pressed inside the terminal. */
  onLeave(direction: 'forward' | 'backward'): void;
  /** The attempt as the socket sends it (on connect and on every change). */
  onAttempt(attempt: AttemptView): void;
  onShellExited(code: number): void;
  /** Called after the pill shows the new status. */
  onStatus(status: ConnectionStatus): void;
  /** The server is about to repaint the screen. */
  onRepaint?(): void;
  /** Asked before each reconnect after an abnormal close: resolve false to stop. */
  shouldReconnect(close: CloseInfo): Promise<boolean>;
}

export class TerminalSession {
  readonly view: TerminalView;
  private readonly connection: TerminalConnection;
  /** Read-only: the candidate's size, from the last repaint. */
  private size: { cols: number; rows: number } | null = null;
  private readonly stopCountdown: () => void;
  private disposed = false;

  constructor(private readonly options: TerminalSessionOptions) {
    const { scope, host, readOnly } = options;
    this.connection = new TerminalConnection(options.url, {
      status: (status) => {
        options.pill.render(status);
        options.onStatus(status);
      },
      message: (message) => {
        switch (message.type) {
          case 'hello':
          case 'attempt':
            options.clock.sync(message.attempt.serverTime);
            options.onAttempt(message.attempt);
            break;
          case 'shell-exited':
            options.onShellExited(message.code);
            break;
          case 'notice':
            options.toaster.show(message.message || message.code, message.level === 'error' ? 'error' : 'warn');
            break;
        }
      },
      repaint: (size) => this.onRepaint(size),
      output: (data, processed) => this.view.write(data, processed),
      // A viewer's size is sent too; the server ignores it.
      size: () => this.size ?? { cols: this.view.cols, rows: this.view.rows },
      shouldReconnect: (close) => options.shouldReconnect(close),
    });

    this.view = new TerminalView(host, {
      onInput: (frame) => {
        if (!readOnly) this.connection.sendInput(frame);
      },
      onResize: (cols, rows) => {
        if (!readOnly) this.connection.sendResize(cols, rows);
      },
      onLeave: (direction) => options.onLeave(direction),
      fit: !readOnly,
    });
    const term = this.view.term;
    term.textarea?.setAttribute('aria-describedby', options.hintId);
    if (readOnly) {
      term.options.disableStdin = true;
      term.options.cursorBlink = false;
      term.textarea?.setAttribute('aria-readonly', 'true');
      // The window changes size: pick the font size that shows all of the candidate's columns again.
      const observer = new ResizeObserver(() => this.fitFont());
      observer.observe(readOnly.frame);
      scope.add(() => observer.disconnect());
    }

    // "Reconnecting in 3s" counts down.
    this.stopCountdown = scope.interval(() => {
      if (this.connection.status.kind === 'reconnecting') options.pill.render(this.connection.status);
    }, 500);
    scope.add(() => this.dispose());
  }

  get status(): ConnectionStatus {
    return this.connection.status;
  }

  /** (Re)connects now. */
  connect(): void {
    this.connection.connect();
  }

  /** No more reconnects; the pill shows `status`. */
  stop(status?: ConnectionStatus): void {
    this.connection.stop(status);
  }

  focus(): void {
    this.view.focus();
  }

  setInputEnabled(enabled: boolean): void {
    this.view.setInputEnabled(enabled);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stopCountdown();
    this.connection.dispose();
    this.view.dispose();
  }

  /**
   * Clears the screen, queued behind output already handed to xterm. Read-only, it then takes the candidate's
   * size, queued the same way.
   */
  private onRepaint(size: { cols: number; rows: number } | undefined): void {
    const view = this.view;
    view.queueReset();
    this.options.onRepaint?.();
    if (!this.options.readOnly || !size) return;
    view.term.write(EMPTY, () => {
      if (this.disposed) return;
      this.size = size;
      if (view.cols !== size.cols || view.rows !== size.rows) view.term.resize(size.cols, size.rows);
      this.options.host.dataset['cols'] = String(size.cols);
      this.options.host.dataset['rows'] = String(size.rows);
      requestAnimationFrame(() => this.fitFont());
    });
  }

  /** Read-only: the largest font (up to the normal one) with which all of the candidate's columns and rows fit. */
  private fitFont(): void {
    const frame = this.options.readOnly?.frame;
    if (!frame || this.disposed) return;
    const term = this.view.term;
    const screen = this.options.host.querySelector<HTMLElement>('.xterm-screen');
    if (!screen || screen.offsetWidth === 0 || screen.offsetHeight === 0) return;
    const current = term.options.fontSize ?? FONT_MAX;
    const style = getComputedStyle(frame);
    const availableWidth = frame.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
    const availableHeight = frame.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    const perPoint = Math.min(availableWidth / (screen.offsetWidth / current), availableHeight / (screen.offsetHeight / current));
    const next = Math.max(FONT_MIN, Math.min(FONT_MAX, Math.floor(perPoint)));
    if (next !== current) term.options.fontSize = next;
  }
}
