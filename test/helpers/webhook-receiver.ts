// A real HTTP receiver for webhook tests: node:http on 127.0.0.1, keeping every request it got (headers and the
// raw body), answering as the test says.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  at: number;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
  /** What the receiver answered. */
  status: number;
}

export type Responder = (req: Received, res: http.ServerResponse, nth: number) => number | 'custom';

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Delivered ones: those answered 2xx. */
  accepted(): Received[];
  respond: Responder;
  /** Resolves when `predicate` holds for what was received (polls). */
  waitFor(predicate: (all: Received[]) => boolean, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(respond: Responder = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = null;
      try {
        body = JSON.parse(raw);
      } catch {
        /* kept raw */
      }
      const entry: Received = { at: Date.now(), headers: req.headers, raw, body, status: 0 };
      received.push(entry);
      const status = receiver.respond(entry, res, received.length);
      if (status === 'custom') return;
      entry.status = status;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
    });
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    respond,
    accepted: () => received.filter((r) => r.status >= 200 && r.status < 300),
    async waitFor(predicate, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > until) throw new Error(`receiver: condition not met in ${timeoutMs} ms; got ${JSON.stringify(received.map((r) => [r.body?.type, r.status]))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return received;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

/** The receiver's side of docs/api.md's recipe, written out as a receiver would. */
export function verifyDocumented(secret: string, raw: string, header: string | undefined, toleranceSeconds = 300): boolean {
  if (!header) return false;
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=') as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${raw}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
