// A terminal WebSocket that reached a replica other than the attempt's owner is passed on to the owner, at the
// internal address it registered: the browser's frames go through unchanged both ways (input, output, acks,
// control messages), and the owner checks the browser's credentials as if it had been reached directly.
//
// Why passed on rather than moving the attempt to whichever replica the browser reached: the shell, its screen and
// its recorder live in one process, and a live view or a second tab reaching another replica would otherwise tear
// them away from the candidate's window at every connection. A load balancer without sticky sessions still works.
import type { FastifyRequest } from 'fastify';
import WebSocket from 'ws';
import { CLOSE_CODES } from '../../../contract/index.js';

/** Marks a connection passed on by a replica: the receiver serves it or refuses it, never passes it on again. */
export const REPLICA_HOP_HEADER = 'x-opslab-replica-hop';

/** What the browser sends before the owner answers is held, up to this many frames. */
const MAX_PENDING_FRAMES = 64;
/**
 * Input not yet written to the owner's socket, past which the connection is closed: a browser that sends faster than
 * the owner takes does not grow this replica's memory. (Output needs no bound here: the owner sends only as far as
 * the browser has acknowledged, and the acknowledgements pass through.)
 */
const MAX_BUFFERED_INPUT = 4 * 1024 * 1024;
/** Request headers the owner needs to check the browser as it would: its credentials and where it came from. */
const PASSED_HEADERS = ['cookie', 'origin', 'user-agent', 'authorization'] as const;

/** Codes a close frame may carry (1005, 1006 and 1015 are reserved for what a peer observed). */
function sendable(code: number): number {
  return code === 1000 || (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)
    ? code
    : CLOSE_CODES.restarting;
}

/** Passes the browser's terminal connection on to `origin` (the owner's internal address). */
export function passToOwner(client: WebSocket, origin: string, request: FastifyRequest, replica: string): void {
  const headers: Record<string, string> = { [REPLICA_HOP_HEADER]: replica, 'x-forwarded-for': request.ip };
  for (const name of PASSED_HEADERS) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  // The route's own path and query on the owner's origin (never a host the request line may have named).
  const asked = new URL(request.url, 'http://replica.invalid');
  const target = new URL(`${origin}${asked.pathname}${asked.search}`);
  target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
  const upstream = new WebSocket(target, { headers, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, handshakeTimeout: 10_000 });
  const pending: { data: WebSocket.RawData; binary: boolean }[] = [];
  let closed = false;
  const closeBoth = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    if (client.readyState === WebSocket.OPEN || client.readyState === WebSocket.CONNECTING) client.close(sendable(code), reason.slice(0, 120));
    if (upstream.readyState === WebSocket.OPEN) upstream.close(1000);
    else upstream.terminate();
  };

  client.on('message', (data, binary) => {
    if (upstream.readyState === WebSocket.OPEN) {
      if (upstream.bufferedAmount > MAX_BUFFERED_INPUT) return closeBoth(CLOSE_CODES.policy, 'Input arrives faster than the terminal takes it.');
      upstream.send(data, { binary });
      return;
    }
    if (pending.length >= MAX_PENDING_FRAMES) return closeBoth(CLOSE_CODES.restarting, 'The terminal is being connected; reconnecting…');
    pending.push({ data, binary });
  });
  client.on('close', () => closeBoth(1000, ''));
  client.on('error', () => closeBoth(1000, ''));

  upstream.on('open', () => {
    for (const frame of pending.splice(0)) upstream.send(frame.data, { binary: frame.binary });
  });
  upstream.on('message', (data, binary) => {
    if (client.readyState === WebSocket.OPEN) client.send(data, { binary });
  });
  upstream.on('close', (code, reason) => closeBoth(code, reason.toString()));
  upstream.on('unexpected-response', (_req, res) => {
    // The owner refused the upgrade: the browser hears what a direct connection would have told it.
    const status = res.statusCode ?? 502;
    res.resume();
    if (status === 410) closeBoth(CLOSE_CODES.ended, 'The attempt has ended.');
    else if (status >= 400 && status < 500) closeBoth(CLOSE_CODES.policy, 'The terminal was refused.');
    else closeBoth(CLOSE_CODES.restarting, 'The server holding this attempt is busy; reconnecting…');
  });
  upstream.on('error', () => closeBoth(CLOSE_CODES.restarting, 'The server holding this attempt did not answer; reconnecting…'));
}
