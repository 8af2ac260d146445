import type { WebSocket, RawData } from 'ws';
import { MAX_CLIENT_FRAME_BYTES, TERMINAL_SIZE, type ClientMessage } from '../../../contract/terminal.js';
import { type AttemptTerminal, CLOSE_CODES, type TerminalClient } from './attempt-terminal.js';

/** Largest WebSocket message accepted from a browser (the contract's); larger ones close the connection with 1009. */
export const MAX_INPUT_FRAME_BYTES = MAX_CLIENT_FRAME_BYTES;
const MAX_CONTROL_BYTES = 1024;
/** Input rate limit: a burst the size of a large paste, then a steady rate far above any typist. */
const INPUT_BURST_BYTES = 1024 * 1024;
const INPUT_BYTES_PER_SECOND = 256 * 1024;
const MESSAGE_BURST = 2000;
const MESSAGES_PER_SECOND = 1000;
/** Violations (dropped input, bad frames) tolerated before the connection is closed. */
const MAX_VIOLATIONS = 200;
const PING_INTERVAL_MS = 20_000;

class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {
    this.tokens = capacity;
  }

  take(n: number): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (n > this.tokens) return false;
    this.tokens -= n;
    return true;
  }
}

type Control = ClientMessage;

function parseControl(text: string): Control | string {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return 'control messages must be JSON';
  }
  if (typeof msg !== 'object' || msg === null) return 'control messages must be JSON objects';
  const m = msg as Record<string, unknown>;
  if (m.type === 'resize') {
    const { cols, rows } = m;
    if (!Number.isInteger(cols) || !Number.isInteger(rows)) return 'resize needs integer cols and rows';
    const size = TERMINAL_SIZE;
    if (
      (cols as number) < size.cols.min ||
      (cols as number) > size.cols.max ||
      (rows as number) < size.rows.min ||
      (rows as number) > size.rows.max
    ) {
      return `resize: cols must be ${size.cols.min}..${size.cols.max} and rows ${size.rows.min}..${size.rows.max}`;
    }
    return { type: 'resize', cols: cols as number, rows: rows as number };
  }
  if (m.type === 'ack') {
    if (!Number.isInteger(m.bytes) || (m.bytes as number) < 0) return 'ack needs a non-negative integer bytes';
    return { type: 'ack', bytes: m.bytes as number };
  }
  return `unknown control message type ${JSON.stringify(m.type)}`;
}

/**
 * Connects one browser WebSocket to an attempt's terminal: binary frames carry bytes both ways, text frames
 * carry JSON control messages. Input is size- and rate-limited; every listener is removed on close.
 */
export function bridgeWebSocket(
  socket: WebSocket,
  terminal: AttemptTerminal,
  hello: Record<string, unknown>,
  log: (msg: string, extra?: Record<string, unknown>) => void,
  opts: { readOnly?: boolean } = {},
): void {
  const readOnly = opts.readOnly ?? false;
  const bytes = new TokenBucket(INPUT_BURST_BYTES, INPUT_BYTES_PER_SECOND);
  const messages = new TokenBucket(MESSAGE_BURST, MESSAGES_PER_SECOND);
  let violations = 0;
  let lastNotice = 0;
  let alive = true;

  const client: TerminalClient = {
    sendOutput(chunk) {
      if (socket.readyState === socket.OPEN) socket.send(chunk, { binary: true });
    },
    sendControl(message) {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message), { binary: false });
    },
    close(code, reason) {
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
    },
  };

  const violation = (code: string, message: string) => {
    violations++;
    const now = Date.now();
    if (now - lastNotice > 1000) {
      lastNotice = now;
      client.sendControl({ type: 'notice', level: 'warn', code, message });
    }
    if (violations > MAX_VIOLATIONS) {
      log('closing terminal connection after repeated violations', { code });
      client.close(CLOSE_CODES.policy, message.slice(0, 120));
    }
  };

  const onMessage = (data: RawData, isBinary: boolean) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      // A live view watches: its keystrokes and sizes never reach the candidate's shell.
      if (readOnly) return violation('read_only', 'This is a read-only view: input is ignored.');
      if (!messages.take(1)) return violation('input_rate_limited', 'Too many messages: input was dropped.');
      if (!bytes.take(buf.length)) {
        return violation('input_rate_limited', 'Input arrives faster than the sandbox accepts it: some was dropped.');
      }
      terminal.input(buf);
      return;
    }
    if (buf.length > MAX_CONTROL_BYTES) return violation('bad_control', 'Control message too large.');
    const control = parseControl(buf.toString('utf8'));
    if (typeof control === 'string') return violation('bad_control', control);
    // Acknowledgements are not rate-limited: dropping one would hold the output back for good, and each costs
    // the server a subtraction. Everything else the browser sends counts against the message rate.
    if (control.type === 'ack') return terminal.ack(client, control.bytes);
    if (!messages.take(1)) return violation('input_rate_limited', 'Too many messages: input was dropped.');
    if (readOnly) return;
    void terminal.resize(control.cols, control.rows).catch(() => undefined);
  };

  const ping = setInterval(() => {
    if (!alive) {
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, PING_INTERVAL_MS);
  const onPong = () => (alive = true);

  const cleanup = () => {
    clearInterval(ping);
    socket.off('message', onMessage);
    socket.off('pong', onPong);
    socket.off('close', cleanup);
    socket.off('error', cleanup);
    terminal.disconnect(client);
  };

  socket.on('message', onMessage);
  socket.on('pong', onPong);
  socket.on('close', cleanup);
  socket.on('error', cleanup);
  client.sendControl(hello);
  void terminal.connect(client, { viewer: readOnly });
}
