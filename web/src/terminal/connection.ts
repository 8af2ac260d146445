// The terminal WebSocket of one attempt: connects, feeds output to a sink with ack-based flow control,
// sends input and resizes, and reconnects with capped exponential backoff after abnormal closes.

import { AckBatcher } from './flow-control.js';
import {
  ACK_BATCH_BYTES,
  CLOSE_CODES,
  clampSize,
  parseServerMessage,
  type ClientMessage,
  type ServerMessage,
} from './protocol.js';

export type ConnectionStatus =
  /** `retry` is true when this is not the first try since connect(). */
  | { kind: 'connecting'; retry: boolean }
  | { kind: 'connected' }
  /** `at` is a Date.now() timestamp of the next try. */
  | { kind: 'reconnecting'; at: number }
  | { kind: 'replaced' }
  /** The invite's link was reissued: this browser may not come back (no reconnect). */
  | { kind: 'moved' }
  | { kind: 'ended'; reason: string }
  | { kind: 'closed' };

export interface CloseInfo {
  code: number;
  reason: string;
  /** False when the socket never opened (e.g. the server refused the upgrade with 401/403/404/410). */
  opened: boolean;
}

export interface ConnectionHandlers {
  status(status: ConnectionStatus): void;
  message(message: Exclude<ServerMessage, { type: 'repaint' }>): void;
  /**
   * The server is about to send the serialised screen: clear the terminal before the next output. `size` is the
   * size it was serialised at, when the server says.
   */
  repaint(size?: { cols: number; rows: number }): void;
  /** Write output; call `processed` once the terminal has processed it. */
  output(data: Uint8Array, processed: () => void): void;
  /** Current terminal size, sent on every (re)connection. */
  size(): { cols: number; rows: number };
  /**
   * Asked before each reconnect after an abnormal close. Resolve false to stop (e.g. the attempt ended or
   * access was revoked: the caller then shows why). Rejections count as "try again later".
   */
  shouldReconnect(close: CloseInfo): Promise<boolean>;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** A connection that stayed open this long resets the backoff. */
  stableMs: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000, stableMs: 5_000 };

/** Capped exponential backoff with "equal jitter": half fixed, half random, so tabs do not retry in step. */
export function backoffDelay(failures: number, options: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, failures));
  return Math.round(base / 2 + (random() * base) / 2);
}

export class TerminalConnection {
  private ws: WebSocket | null = null;
  private acks: AckBatcher | null = null;
  private failures = 0;
  private openedAt = 0;
  private retryTimer: number | null = null;
  private disposed = false;
  private currentStatus: ConnectionStatus = { kind: 'closed' };
  private readonly onOnline = (): void => {
    if (this.currentStatus.kind === 'reconnecting') this.connect();
  };

  constructor(
    private readonly url: string,
    private readonly handlers: ConnectionHandlers,
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {
    window.addEventListener('online', this.onOnline);
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  get isOpen(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** (Re)connects now, dropping any current socket and pending retry, with a fresh backoff. */
  connect(): void {
    if (this.disposed) return;
    this.cancelRetry();
    this.dropSocket(CLOSE_CODES.normal, 'reconnecting');
    this.failures = 0;
    this.open();
  }

  sendInput(bytes: Uint8Array): boolean {
    if (!this.isOpen || bytes.length === 0) return false;
    this.ws!.send(bytes);
    return true;
  }

  sendResize(cols: number, rows: number): void {
    this.sendControl({ type: 'resize', ...clampSize(cols, rows) });
  }

  /** Stops for good: closes the socket normally, no more reconnects. */
  stop(status: ConnectionStatus = { kind: 'closed' }): void {
    this.cancelRetry();
    this.dropSocket(CLOSE_CODES.normal, 'client closed');
    this.setStatus(status);
  }

  /** Page leave: closes the socket, cancels retries, reports nothing more. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cancelRetry();
    this.dropSocket(CLOSE_CODES.normal, 'page closed');
    window.removeEventListener('online', this.onOnline);
  }

  private open(): void {
    this.setStatus({ kind: 'connecting', retry: this.failures > 0 });

    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    const acks = new AckBatcher((bytes) => {
      if (this.ws === ws && ws.readyState === WebSocket.OPEN) this.sendControlOn(ws, { type: 'ack', bytes });
    });
    this.acks = acks;

    ws.onopen = () => {
      if (this.ws !== ws) return;
      opened = true;
      this.openedAt = Date.now();
      const { cols, rows } = this.handlers.size();
      this.sendControlOn(ws, { type: 'resize', ...clampSize(cols, rows) });
      this.setStatus({ kind: 'connected' });
    };

    ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
      if (this.ws !== ws) return;
      if (typeof event.data === 'string') {
        const message = parseServerMessage(event.data);
        if (message === null) return;
        if (message.type !== 'repaint') this.handlers.message(message);
        else if (message.cols && message.rows) this.handlers.repaint({ cols: message.cols, rows: message.rows });
        else this.handlers.repaint();
        return;
      }
      const bytes = new Uint8Array(event.data);
      // Hand output over in pieces no bigger than an ack batch, so acks flow while a big frame renders.
      for (let offset = 0; offset < bytes.length; offset += ACK_BATCH_BYTES) {
        const piece = bytes.subarray(offset, Math.min(offset + ACK_BATCH_BYTES, bytes.length));
        this.handlers.output(piece, acks.track(piece.length));
      }
    };

    ws.onclose = (event) => {
      acks.close();
      if (this.ws !== ws) return;
      this.ws = null;
      this.acks = null;
      this.handleClose({ code: event.code, reason: event.reason, opened });
    };
    // Errors are always followed by a close event, which does the work.
    ws.onerror = () => {};
  }

  private handleClose(close: CloseInfo): void {
    if (this.disposed) return;
    if (close.code === CLOSE_CODES.ended) {
      this.setStatus({ kind: 'ended', reason: close.reason });
      return;
    }
    if (close.code === CLOSE_CODES.replaced) {
      this.setStatus({ kind: 'replaced' });
      return;
    }
    if (close.code === CLOSE_CODES.moved) {
      this.setStatus({ kind: 'moved' });
      return;
    }
    if (close.code === CLOSE_CODES.normal) {
      this.setStatus({ kind: 'closed' });
      return;
    }
    if (close.opened && Date.now() - this.openedAt >= this.backoff.stableMs) this.failures = 0;
    this.scheduleReconnect(close);
  }

  private scheduleReconnect(close: CloseInfo): void {
    const delay = backoffDelay(this.failures, this.backoff);
    this.failures += 1;
    this.setStatus({ kind: 'reconnecting', at: Date.now() + delay });
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = null;
      void this.retry(close);
    }, delay);
  }

  private async retry(close: CloseInfo): Promise<void> {
    let go: boolean;
    try {
      go = await this.handlers.shouldReconnect(close);
    } catch {
      go = true;
    }
    // connect(), stop() or dispose() may have run while we asked.
    if (this.disposed || this.currentStatus.kind !== 'reconnecting' || this.ws !== null) return;
    if (go) this.open();
    else this.setStatus({ kind: 'closed' });
  }

  private sendControl(message: ClientMessage): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendControlOn(this.ws, message);
  }

  private sendControlOn(ws: WebSocket, message: ClientMessage): void {
    ws.send(JSON.stringify(message));
  }

  private dropSocket(code: number, reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.acks?.close();
    this.acks = null;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(code, reason);
  }

  private cancelRetry(): void {
    if (this.retryTimer !== null) {
      window.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private setStatus(status: ConnectionStatus): void {
    this.currentStatus = status;
    if (!this.disposed) this.handlers.status(status);
  }
}
