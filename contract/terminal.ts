// The terminal WebSocket (docs/api.md, "Terminal WebSocket"): binary frames carry bytes both ways, text frames
// carry JSON control messages.

import type { AttemptView } from './attempts.js';

/** WebSocket close codes the server uses and the browser tells apart. */
export const CLOSE_CODES = {
  normal: 1000,
  /** The server is shutting down (terminals reconnect to the next one). */
  goingAway: 1001,
  /** A broken rule: a bad control message, input on a read-only view, too many violations. */
  policy: 1008,
  /** A frame over MAX_CLIENT_FRAME_BYTES. */
  tooBig: 1009,
  /** The terminal could not be opened. */
  serverError: 1011,
  /** The server is restarting: reconnect, the shell keeps running and the next server adopts it. */
  restarting: 1012,
  /** Another connection (usually another tab) took over this attempt. */
  replaced: 4000,
  /** The invite's link was reissued: this browser's credential no longer works, the attempt goes on elsewhere. */
  moved: 4001,
  /** The browser stopped acknowledging output (or a live view fell too far behind). */
  stalled: 4008,
  /** The attempt ended; the close reason says why. */
  ended: 4410,
} as const;

/** Largest WebSocket message the server accepts from a browser; larger ones close the connection with 1009. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/** Largest binary frame the browser sends: big pastes are split well under the server's limit. */
export const INPUT_CHUNK_BYTES = 16 * 1024;
/** The browser acknowledges at least every 32 KiB of processed output, and never more than that in one message. */
export const ACK_BATCH_BYTES = 32 * 1024;

/** The terminal sizes a resize may ask for. */
export const TERMINAL_SIZE = { cols: { min: 2, max: 500 }, rows: { min: 1, max: 200 } } as const;

export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const { cols: c, rows: r } = TERMINAL_SIZE;
  return { cols: Math.min(c.max, Math.max(c.min, Math.floor(cols))), rows: Math.min(r.max, Math.max(r.min, Math.floor(rows))) };
}

export type ServerMessage =
  /** readOnly: an interviewer's live view. */
  /** terminal: which of the attempt's terminals this connection is (1 when absent). */
  | { type: 'hello'; attempt: AttemptView; readOnly?: boolean; terminal?: number }
  /** cols/rows: the size the screen that follows was serialised at (a read-only viewer takes it over). */
  | { type: 'repaint'; cols?: number; rows?: number }
  | { type: 'attempt'; attempt: AttemptView }
  | { type: 'shell-exited'; code?: number }
  | { type: 'notice'; level: 'warn' | 'error'; code: string; message: string };

export type ClientMessage = { type: 'resize'; cols: number; rows: number } | { type: 'ack'; bytes: number };

/**
 * An attempt's terminals: 1 is the sandbox's main shell (its container's TTY, which survives server restarts), the
 * others are shells started beside it (`?terminal=2` on the WebSocket, the recording and the live view).
 */
export const MAX_TERMINALS = 2;
export const TERMINAL_IDS: readonly number[] = Array.from({ length: MAX_TERMINALS }, (_, i) => i + 1);

/**
 * The terminal a `terminal` query value names: 1 when absent; an error message when it is not one of
 * TERMINAL_IDS (a decimal integer, no sign, no padding).
 */
export function parseTerminalId(value: unknown): number | { error: string } {
  if (value === undefined) return 1;
  if (typeof value !== 'string' || !/^[1-9][0-9]{0,2}$/.test(value)) {
    return { error: `terminal must be one of ${TERMINAL_IDS.join(', ')}.` };
  }
  const n = Number(value);
  if (n > MAX_TERMINALS) return { error: `An attempt has at most ${MAX_TERMINALS} terminals.` };
  return n;
}
