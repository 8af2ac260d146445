// A WebSocket client at the byte level: the upgrade by hand, then any bytes at all, well-formed frames or not.
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export interface RawClose {
  /** The close code of the server's close frame (null: the connection ended without one). */
  code: number | null;
  reason: string;
  /** ms from the moment the bytes were written to the end of the connection. */
  ms: number;
}

/** One frame, client to server: masked unless `mask: false`; any opcode, flags and declared length. */
export function frame(
  opcode: number,
  payload: Buffer,
  opts: { fin?: boolean; rsv?: number; mask?: boolean; declaredLength?: bigint } = {},
): Buffer {
  const fin = opts.fin ?? true;
  const mask = opts.mask ?? true;
  const len = opts.declaredLength ?? BigInt(payload.length);
  const head: number[] = [(fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | (opcode & 0x0f)];
  let ext = Buffer.alloc(0);
  if (len < 126n) head.push((mask ? 0x80 : 0) | Number(len));
  else if (len < 65536n) {
    head.push((mask ? 0x80 : 0) | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(len));
  } else {
    head.push((mask ? 0x80 : 0) | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(len);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

/**
 * Opens `url` (http://host:port/path) with an upgrade request carrying `headers`; resolves once the server
 * answered 101. Rejects with the status line when it refuses.
 */
export function rawUpgrade(url: string, headers: Record<string, string>): Promise<RawSocket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const head = buf.subarray(0, end).toString('latin1');
      const rest = buf.subarray(end + 4);
      if (!/^HTTP\/1\.1 101 /.test(head)) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
        return;
      }
      resolve(new RawSocket(socket, rest));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => sendUpgrade(socket, u.host, u.pathname, headers));
  });
}

/** Writes an upgrade request for `target` (the request target exactly as given) with `headers`. */
function sendUpgrade(socket: net.Socket, host: string, target: string, headers: Record<string, string>): void {
  const lines = [
    `GET ${target} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
}

/**
 * An upgrade request to `base`'s host with the request target exactly as given (a query no URL class would keep
 * as written); resolves with the answer's status code.
 */
export function rawUpgradeStatus(base: string, target: string, headers: Record<string, string>): Promise<number> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let buf = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(buf);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.once('error', reject);
    socket.once('connect', () => sendUpgrade(socket, u.host, target, headers));
  });
}

export class RawSocket {
  private buf: Buffer;
  private closeFrame: { code: number | null; reason: string } | null = null;
  readonly ended: Promise<void>;

  constructor(
    readonly socket: net.Socket,
    initial: Buffer,
  ) {
    this.buf = initial;
    this.ended = new Promise((resolve) => {
      socket.once('close', () => resolve());
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.parse();
    });
    this.parse();
  }

  /** Reads server frames as they come, keeping only the close frame (output and text frames are skipped). */
  private parse(): void {
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (opcode === 0x8) {
        this.closeFrame = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : null,
          reason: payload.subarray(2).toString('utf8'),
        };
      }
    }
  }

  /** Writes bytes, then waits until the server ends the connection (or `timeoutMs`). */
  async sendAndWaitClose(bytes: Buffer, timeoutMs = 10_000): Promise<RawClose> {
    const t0 = Date.now();
    this.socket.write(bytes);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    const outcome = await Promise.race([this.ended.then(() => 'closed' as const), timer]);
    if (outcome === 'timeout') {
      this.socket.destroy();
      throw new Error(`the server kept the connection open ${timeoutMs} ms after the bytes were sent`);
    }
    return { code: this.closeFrame?.code ?? null, reason: this.closeFrame?.reason ?? '', ms: Date.now() - t0 };
  }

  destroy(): void {
    this.socket.destroy();
  }
}
