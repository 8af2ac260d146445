// The benchmark's clients: a browser-like WebSocket client of opslab's terminal protocol, and the bookkeeping of
// terminal output (bytes, and waiters that learn when a given text arrived).
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';

/** Largest acknowledgement the browser sends at once (docs/api.md, "Flow control"). */
export const ACK_BATCH = 32 * 1024;
export const ACK_REST_MS = 10;
const TAIL = 4096;

export const PROMPT = /root@sandbox[^#]*# $/;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g;
export const atPrompt = (text: string) => PROMPT.test(text.replace(ANSI, ''));

interface Waiter {
  what: string;
  seen: string;
  test: (text: string) => boolean;
  resolve: (at: number) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** A terminal's output: counts bytes and wakes waiters with the arrival time of the chunk that satisfied them. */
export class Output {
  bytes = 0;
  firstAt: number | null = null;
  private readonly decoder = new TextDecoder();
  private readonly waiters = new Set<Waiter>();

  push(chunk: Buffer): void {
    const at = performance.now();
    this.firstAt ??= at;
    this.bytes += chunk.length;
    if (this.waiters.size === 0) return;
    const text = this.decoder.decode(chunk, { stream: true });
    for (const w of this.waiters) {
      w.seen = (w.seen + text).slice(-TAIL);
      if (!w.test(w.seen)) continue;
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.resolve(at);
    }
  }

  /** The stream is gone: every waiter fails now instead of at its timeout. */
  end(why: string): void {
    for (const w of this.waiters) this.fail(w, `${why} while waiting for ${w.what}`);
  }

  private fail(w: Waiter, why: string): void {
    this.waiters.delete(w);
    clearTimeout(w.timer);
    w.reject(new Error(`${why}; last output ${JSON.stringify(w.seen.slice(-200))}`));
  }

  /** Resolves with the `performance.now()` arrival time of the output after which `test` holds for what came since. */
  next(test: (text: string) => boolean, what: string, timeoutMs = 10_000): Promise<number> {
    const promise = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(w, `no ${what} within ${timeoutMs} ms`), timeoutMs);
      const w: Waiter = { what, seen: '', test, resolve, reject, timer };
      this.waiters.add(w);
    });
    promise.catch(() => undefined); // awaited by the caller; never an unhandled rejection if the caller bailed out
    return promise;
  }
}

export interface Shell {
  out: Output;
  write(data: string): void;
  close(): void;
}

/** Connects to an attempt's terminal as a browser whose terminal renders at once. */
export async function connectTerminal(url: string, attemptId: string, token: string, out: Output): Promise<Shell> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/attempts/${attemptId}/terminal`, {
    headers: { authorization: `Bearer ${token}` },
  });
  // Acknowledged in full 32 KiB batches as output arrives, the rest after a short pause: the fewest ack messages
  // the protocol allows. (Acking every frame trips the server's input rate limit during a flood; see RESULTS.md.)
  let unacked = 0;
  let timer: NodeJS.Timeout | null = null;
  const ack = (bytes: number) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ack', bytes }));
  };
  const ackRest = () => {
    timer = null;
    if (unacked > 0) ack(unacked);
    unacked = 0;
  };
  ws.on('message', (data, isBinary) => {
    const buf = data as Buffer;
    if (!isBinary) {
      const msg = JSON.parse(buf.toString()) as { type: string; code?: string };
      if (msg.type === 'notice') console.warn(`[bench] server notice: ${msg.code}`);
      return;
    }
    out.push(buf);
    for (unacked += buf.length; unacked >= ACK_BATCH; unacked -= ACK_BATCH) ack(ACK_BATCH);
    if (unacked > 0) timer ??= setTimeout(ackRest, ACK_REST_MS);
  });
  ws.on('close', (code, reason) => {
    if (timer) clearTimeout(timer);
    out.end(`the WebSocket closed (${code} ${reason.toString()})`);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`terminal upgrade refused: HTTP ${res.statusCode}`)));
  });
  return { out, write: (data) => ws.send(Buffer.from(data), { binary: true }), close: () => ws.close() };
}

export async function startAttempt(url: string, exerciseId: string): Promise<{ id: string; token: string }> {
  const res = await fetch(`${url}/api/attempts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ exerciseId }),
  });
  if (res.status !== 201) throw new Error(`start failed: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { attempt: { id: string }; token: string };
  return { id: body.attempt.id, token: body.token };
}

export async function submit(url: string, attemptId: string, token: string): Promise<void> {
  const res = await fetch(`${url}/api/attempts/${attemptId}/submit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`submit failed: HTTP ${res.status} ${await res.text()}`);
}

/** A practice attempt's final grading as its candidate reads it (null before there is one). */
export async function finalGrading(url: string, attemptId: string, token: string): Promise<{ score: number; maxScore: number; error: string | null } | null> {
  const res = await fetch(`${url}/api/attempts/${attemptId}/grading`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`grading failed: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { grading: { score: number; maxScore: number; error: string | null } | null }).grading;
}

export interface OpslabAttempt {
  id: string;
  /** The attempt's bearer token (for submit). */
  token: string;
  shell: Shell;
  end(): Promise<void>;
  /** From the POST to the prompt, split at the POST's answer and the WebSocket's upgrade. */
  ms: { post: number; open: number; first: number; prompt: number };
}

/**
 * POST /api/attempts, then the terminal WebSocket, until the whole prompt arrived. `terminalUrl`: open the terminal
 * (and submit) through another server than the one that started the attempt (a replica behind a load balancer).
 */
export async function openAttempt(url: string, exerciseId: string, terminalUrl = url): Promise<OpslabAttempt> {
  const out = new Output();
  const prompt = out.next(atPrompt, 'opslab prompt', 60_000);
  const t0 = performance.now();
  const { id, token } = await startAttempt(url, exerciseId);
  const posted = performance.now();
  const shell = await connectTerminal(terminalUrl, id, token, out);
  const opened = performance.now();
  const promptAt = await prompt;
  return {
    id,
    token,
    shell,
    ms: { post: posted - t0, open: opened - t0, first: out.firstAt! - t0, prompt: promptAt - t0 },
    async end() {
      await submit(terminalUrl, id, token);
      shell.close();
    },
  };
}

/** One keystroke: time until its echo arrives; then a backspace, waited for too, so the line stays empty. */
export async function echo(shell: Shell, key: string): Promise<number> {
  const echoed = shell.out.next((text) => text.includes(key), `echo of ${key}`);
  const t0 = performance.now();
  shell.write(key);
  const at = await echoed;
  const erased = shell.out.next((text) => text.includes('\b'), 'echo of the backspace');
  shell.write('\x7f');
  await erased;
  return at - t0;
}

/** Sends one key and resolves with the time until `test` holds for the output that followed. */
export async function keystroke(shell: Shell, key: string, test: (text: string) => boolean, timeoutMs = 10_000): Promise<number> {
  const echoed = shell.out.next(test, `echo of ${JSON.stringify(key)}`, timeoutMs);
  const t0 = performance.now();
  shell.write(key);
  return (await echoed) - t0;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
