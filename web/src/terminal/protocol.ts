// Messages of the terminal WebSocket (docs/api.md, "Terminal WebSocket").

import { clampSize, type ServerMessage as WireMessage } from '../../../contract/terminal.js';

export {
  ACK_BATCH_BYTES,
  clampSize,
  CLOSE_CODES,
  INPUT_CHUNK_BYTES,
  type ClientMessage,
} from '../../../contract/terminal.js';

/** A server message as parsed here: a shell exit always carries a code (-1 when the server did not say). */
export type ServerMessage = Exclude<WireMessage, { type: 'shell-exited' }> | { type: 'shell-exited'; code: number };

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
