import { WebSocket } from 'ws';

/** Terminal output as plain text: escape sequences and carriage returns removed. */
// eslint-disable-next-line no-control-regex
export const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g, '');

export interface Control {
  type: string;
  [key: string]: unknown;
}

/** A WebSocket terminal client speaking opslab's protocol, as the browser does (with acknowledgements). */
export class TestTerminal {
  /** Everything printed since the connection opened (repaint included), decoded as UTF-8. */
  text = '';
  /** The repaint snapshot that followed the last `repaint` control message. */
  repaint: string | null = null;
  readonly controls: Control[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  receivedBytes = 0;
  autoAck = true;
  private expectRepaint = false;
  private readonly decoder = new TextDecoder();
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.notify();
      });
    });
    ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      if (isBinary) {
        this.receivedBytes += buf.length;
        const chunk = this.decoder.decode(buf, { stream: true });
        if (this.expectRepaint) {
          this.repaint = chunk;
          this.expectRepaint = false;
        }
        this.text += chunk;
        if (this.autoAck) this.ack(buf.length);
      } else {
        const msg = JSON.parse(buf.toString()) as Control;
        this.controls.push(msg);
        if (msg.type === 'repaint') this.expectRepaint = true;
      }
      this.notify();
    });
  }

  static connect(
    baseUrl: string,
    attemptId: string,
    token: string,
    opts: { origin?: string } = {},
  ): Promise<TestTerminal> {
    return TestTerminal.open(`${baseUrl}/api/attempts/${attemptId}/terminal`, {
      authorization: `Bearer ${token}`,
      ...(opts.origin ? { origin: opts.origin } : {}),
    });
  }

  /** Opens any terminal socket (the candidate's, or an interviewer's live view) with the given headers. */
  static open(url: string, headers: Record<string, string>): Promise<TestTerminal> {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestTerminal(ws)));
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`upgrade refused: HTTP ${res.statusCode}`), { statusCode: res.statusCode })),
      );
      ws.once('error', reject);
    });
  }

  /** Resolves with the HTTP status of a refused upgrade; fails if the upgrade succeeds. */
  static async refusedStatus(url: string, headers: Record<string, string>): Promise<number> {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.close();
        reject(new Error('the upgrade was accepted'));
      });
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('error', (err) => reject(err));
    });
  }

  type(text: string): void {
    this.ws.send(Buffer.from(text, 'utf8'), { binary: true });
  }

  sendControl(msg: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(msg));
  }

  ack(bytes: number): void {
    if (this.ws.readyState === WebSocket.OPEN) this.sendControl({ type: 'ack', bytes });
  }

  resize(cols: number, rows: number): void {
    this.sendControl({ type: 'resize', cols, rows });
  }

  /** Waits until `test` holds (checked on every message), or fails after `timeoutMs` showing the tail. */
  async waitFor(test: string | RegExp | (() => boolean), timeoutMs = 15_000): Promise<void> {
    const check =
      typeof test === 'function'
        ? test
        : typeof test === 'string'
          ? () => this.text.includes(test)
          : () => test.test(this.text);
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${String(test)}; last output: ${JSON.stringify(this.text.slice(-400))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.close();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
