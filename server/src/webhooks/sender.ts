import http from 'node:http';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import { checkTarget, WebhookAddressError, type Lookup } from './address.js';

/** How one try of a delivery went. */
export interface SendOutcome {
  ok: boolean;
  /** The answer's HTTP status; null when none came. */
  status: number | null;
  error: string | null;
  /** Bytes of the answer's body read (at most the cap; the rest is never read). */
  bytesRead: number;
  /** The address connected to (after the check); null when the address was refused or not resolved. */
  address: string | null;
  ms: number;
}

export interface SendOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Bytes of the answer's body read at most (an excerpt of an error answer goes to the log). */
  maxResponseBytes: number;
  signal?: AbortSignal;
  lookup?: Lookup;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

const excerpt = (bytes: Buffer) =>
  bytes
    .toString('utf8')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .slice(0, 200);

/**
 * One POST of a delivery. The host is resolved and every address checked (checkTarget), and the connection goes
 * to the checked address (a pinned lookup: a second resolution cannot switch it, DNS rebinding), with the URL's
 * host name in the Host header and TLS SNI, and the certificate verified for it. Redirects are not followed (a 3xx
 * is a failed try). The whole try, from connecting to the last byte read, has one time limit, and at most
 * `maxResponseBytes` of the answer are read before the connection is closed.
 */
export async function sendWebhook(opts: SendOptions): Promise<SendOutcome> {
  const started = Date.now();
  const done = (o: Omit<SendOutcome, 'ms'>): SendOutcome => ({ ...o, ms: Date.now() - started });
  let target;
  let lookupTimer: NodeJS.Timeout | undefined;
  try {
    // The name's resolution counts against the try's time limit too.
    target = await Promise.race([
      checkTarget(opts.url, { allowPrivate: opts.allowPrivate, lookup: opts.lookup }),
      new Promise<never>((_, reject) => {
        lookupTimer = setTimeout(() => reject(new Error(`the host was not resolved within ${seconds(opts.timeoutMs)} s`)), opts.timeoutMs);
      }),
    ]);
  } catch (err) {
    const message = err instanceof WebhookAddressError ? err.message : (err as Error).message;
    return done({ ok: false, status: null, error: message, bytesRead: 0, address: null });
  } finally {
    clearTimeout(lookupTimer);
  }
  const { url, hostname, address, family } = target;
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    let bytesRead = 0;
    const finish = (o: Omit<SendOutcome, 'ms' | 'address' | 'bytesRead'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(done({ ...o, bytesRead, address }));
    };
    const req = client.request(
      url,
      {
        method: 'POST',
        lookup: pinned,
        // No connection reuse: every try resolves and checks again.
        agent: false,
        ...(url.protocol === 'https:' ? { servername: net.isIP(hostname) ? undefined : hostname } : {}),
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(opts.body)),
          'user-agent': 'opslab-webhooks',
          ...opts.headers,
        },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        const end = () => {
          const ok = status >= 200 && status < 300;
          const body = excerpt(Buffer.concat(chunks));
          const error = ok
            ? null
            : status >= 300 && status < 400
              ? `HTTP ${status}: redirects are not followed${res.headers.location ? ` (to ${String(res.headers.location).slice(0, 200)})` : ''}`
              : `HTTP ${status}${body ? `: ${body}` : ''}`;
          finish({ ok, status, error });
        };
        res.on('data', (chunk: Buffer) => {
          const room = opts.maxResponseBytes - bytesRead;
          if (room > 0) chunks.push(chunk.subarray(0, room));
          bytesRead += Math.min(chunk.length, Math.max(room, 0));
          // The cap reached: the rest is not read; the connection is closed.
          if (bytesRead >= opts.maxResponseBytes) end();
        });
        res.on('end', end);
        res.on('error', () => end());
      },
    );
    const timer = setTimeout(
      () => finish({ ok: false, status: null, error: `no answer within ${seconds(opts.timeoutMs)} s` }),
      Math.max(0, started + opts.timeoutMs - Date.now()),
    );
    const onAbort = () => finish({ ok: false, status: null, error: 'aborted: the server is stopping' });
    opts.signal?.addEventListener('abort', onAbort);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, status: null, error: `${err.code ?? 'error'}: ${err.message}`.slice(0, 300) }));
    req.end(opts.body);
  });
}
