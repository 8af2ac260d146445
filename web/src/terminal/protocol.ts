// Messages of the terminal WebSocket (docs/api.md, "Terminal WebSocket").

import type { AttemptView } from '../api.js';

export const CLOSE = {
  normal: 1000,
  policy: 1008,
  tooLarge: 1009,
  /** Another connection (usually another tab) took over this attempt. */
  replaced: 4000,
  /** The attempt ended; the close reason says why. */
  attemptEnded: 4410,
} as const;

/** Largest binary frame we send; the server accepts up to 64 KiB. Big pastes are split. */
export const MAX_INPUT_FRAME_BYTES = 16 * 1024;
/** We acknowledge at least every 32 KiB of processed output, and never more than that in one message. */
export const ACK_BATCH_BYTES = 32 * 1024;

export type ServerMessage =
  | { type: 'hello'; attempt: AttemptView }
  /** cols/rows: the size the screen that follows was serialised at (a read-only viewer takes it over). */
  | { type: 'repaint'; cols?: number; rows?: number }
  | { type: 'attempt'; attempt: AttemptView }
  | { type: 'shell-exited'; code: number }
  | { type: 'notice'; level: 'warn' | 'error'; code: string; message: string };

export type ClientMessage = { type: 'resize'; cols: number; rows: number } | { type: 'ack'; bytes: number };

export function parseServerMessage(text: string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const msg = value as Record<string, unknown>;
  switch (msg['type']) {
    case 'hello':
    case 'attempt':
      return typeof msg['attempt'] === 'object' && msg['attempt'] !== null ? (msg as ServerMessage) : null;
    case 'repaint':
      return Number.isInteger(msg['cols']) && Number.isInteger(msg['rows'])
        ? { type: 'repaint', ...clampSize(msg['cols'] as number, msg['rows'] as number) }
        : { type: 'repaint' };
    case 'shell-exited':
      return { type: 'shell-exited', code: typeof msg['code'] === 'number' ? msg['code'] : -1 };
    case 'notice':
      return {
        type: 'notice',
        level: msg['level'] === 'error' ? 'error' : 'warn',
        code: typeof msg['code'] === 'string' ? msg['code'] : '',
        message: typeof msg['message'] === 'string' ? msg['message'] : '',
      };
    default:
      return null;
  }
}

export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  return { cols: Math.min(500, Math.max(2, Math.floor(cols))), rows: Math.min(200, Math.max(1, Math.floor(rows))) };
}
