import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** asciicast v2 event codes. */
export const CAST_EVENTS = { output: 'o', input: 'i', resize: 'r', marker: 'm' } as const;
type CastCode = (typeof CAST_EVENTS)[keyof typeof CAST_EVENTS];

/** Lifecycle markers written into recordings. */
export const MARKERS = {
  started: 'started',
  reconnected: 'reconnected',
  adopted: 'adopted',
  /** Output made while no server recorded (a crash), added from the engine's log of the shell. */
  recovered: 'recovered',
  shellExited: 'shell-exited',
  shellRestarted: 'shell-restarted',
  submitted: 'submitted',
  expired: 'expired',
  checks: 'checks',
  hint: 'hint',
  revoked: 'revoked',
  reset: 'sandbox reset',
  extended: 'time extended',
} as const;

/** Buffered events reach the file at least this often, so a crash loses at most about this much. */
const FLUSH_INTERVAL_MS = 250;
const FLUSH_BYTES = 64 * 1024;
/** Room kept after the cap for the truncation marker and lifecycle markers. */
const MARKER_ALLOWANCE = 16 * 1024;

export interface RecorderOptions {
  file: string;
  cols: number;
  rows: number;
  /** The attempt's start, epoch ms: event times are relative to it, also after a server restart. */
  startedAt: number;
  maxBytes: number;
  title?: string;
}

/**
 * Appends an attempt's terminal to an asciicast v2 file as it happens. Output and input are decoded as UTF-8
 * with a decoder per direction, so a character split across two chunks is not mangled.
 */
export class AsciicastRecorder {
  private fd: number;
  private bytes: number;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private truncated = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly outDecoder = new StringDecoder('utf8');
  private readonly inDecoder = new StringDecoder('utf8');

  constructor(private readonly opts: RecorderOptions) {
    fs.mkdirSync(path.dirname(opts.file), { recursive: true });
    const existing = existingSize(opts.file);
    if (existing > 0) {
      this.fd = fs.openSync(opts.file, 'r+');
      // After a crash the last line may be half written: cut back to the last complete event.
      const keep = lastNewlineEnd(this.fd, existing);
      fs.ftruncateSync(this.fd, keep);
      this.bytes = keep;
      this.truncated = recordingWasTruncated(opts.file);
    } else {
      this.fd = fs.openSync(opts.file, 'w');
      const header = {
        version: 2,
        width: opts.cols,
        height: opts.rows,
        timestamp: Math.floor(opts.startedAt / 1000),
        env: { TERM: 'xterm-256color', SHELL: '/bin/bash' },
        ...(opts.title ? { title: opts.title } : {}),
      };
      const line = JSON.stringify(header) + '\n';
      fs.writeSync(this.fd, line);
      this.bytes = Buffer.byteLength(line);
    }
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  get isTruncated(): boolean {
    return this.truncated;
  }

  get size(): number {
    return this.bytes + this.bufferedBytes;
  }

  output(chunk: Buffer): void {
    const text = this.outDecoder.write(chunk);
    if (text) this.event(CAST_EVENTS.output, text);
  }

  input(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.inDecoder.write(chunk);
    if (text) this.event(CAST_EVENTS.input, text);
  }

  resize(cols: number, rows: number): void {
    this.event(CAST_EVENTS.resize, `${cols}x${rows}`);
  }

  marker(label: string): void {
    this.event(CAST_EVENTS.marker, label);
  }

  flush(): void {
    if (this.buffer.length === 0 || this.closed) return;
    const data = this.buffer.join('');
    this.buffer = [];
    this.bufferedBytes = 0;
    fs.writeSync(this.fd, data, this.bytes);
    this.bytes += Buffer.byteLength(data);
  }

  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    const tail = this.outDecoder.end();
    if (tail) this.event(CAST_EVENTS.output, tail);
    this.flush();
    this.closed = true;
    fs.closeSync(this.fd);
  }

  private event(code: CastCode, data: string): void {
    if (this.closed) return;
    const t = Math.max(0, (Date.now() - this.opts.startedAt) / 1000);
    const line = JSON.stringify([Number(t.toFixed(6)), code, data]) + '\n';
    const size = Buffer.byteLength(line);
    if (this.truncated) {
      // Past the cap only lifecycle markers are kept, within a small allowance.
      if (code !== CAST_EVENTS.marker || this.size + size > this.opts.maxBytes + MARKER_ALLOWANCE) return;
    } else if (this.size + size > this.opts.maxBytes) {
      this.truncated = true;
      this.push(
        JSON.stringify([Number(t.toFixed(6)), CAST_EVENTS.marker, truncationMarker(this.opts.maxBytes)]) + '\n',
      );
      return;
    }
    this.push(line);
  }

  private push(line: string): void {
    this.buffer.push(line);
    this.bufferedBytes += Buffer.byteLength(line);
    if (this.bufferedBytes >= FLUSH_BYTES) this.flush();
  }
}

export function truncationMarker(maxBytes: number): string {
  return `recording truncated: size cap of ${maxBytes} bytes reached`;
}

function existingSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function lastNewlineEnd(fd: number, size: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = fs.readSync(fd, chunk, 0, end - start, start);
    const idx = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (idx >= 0) return start + idx + 1;
    end = start;
  }
  return 0;
}

function recordingWasTruncated(file: string): boolean {
  // Cheap: the marker, when present, is near the end of a capped file.
  const size = existingSize(file);
  const fd = fs.openSync(file, 'r');
  try {
    const len = Math.min(size, MARKER_ALLOWANCE + 4096);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8').includes('recording truncated: size cap');
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads an asciicast v2 file back (tests, repaint after a restart, replays). Bad lines are reported, not skipped. */
export function parseAsciicast(text: string): {
  header: Record<string, unknown>;
  events: [number, string, string][];
} {
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error('empty asciicast file');
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  if (header.version !== 2) throw new Error('not an asciicast v2 file');
  const events = lines.slice(1).map((line, i) => {
    const ev = JSON.parse(line) as unknown;
    if (
      !Array.isArray(ev) ||
      ev.length !== 3 ||
      typeof ev[0] !== 'number' ||
      typeof ev[1] !== 'string' ||
      typeof ev[2] !== 'string'
    ) {
      throw new Error(`asciicast line ${i + 2} is not an event: ${line.slice(0, 80)}`);
    }
    return ev as [number, string, string];
  });
  return { header, events };
}
