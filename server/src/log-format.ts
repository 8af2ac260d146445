// Readable server logs in a terminal: the server logs pino's JSON lines; when stdout is a terminal they are turned
// into one short line each (time, level, message, then the fields worth reading) before they are printed.
// Anywhere else (tests, CI, docker compose, a log file) the JSON lines are left as they are.

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '\x1b[90m' },
  20: { name: 'DEBUG', color: '\x1b[90m' },
  30: { name: 'INFO', color: '\x1b[32m' },
  40: { name: 'WARN', color: '\x1b[33m' },
  50: { name: 'ERROR', color: '\x1b[31m' },
  60: { name: 'FATAL', color: '\x1b[35m' },
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/** Fields every line has (shown in their own way, or not worth the room). */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v', 'req', 'res', 'responseTime', 'err', 'error']);
/** Fields shown first, in this order, when present. */
const FIRST = ['reqId', 'attemptId', 'exerciseId', 'sandboxId'];
/** A field value longer than this is cut (the JSON log, when not on a terminal, keeps it whole). */
const MAX_VALUE = 300;

export interface LogFormatOptions {
  /** ANSI colours for the level and the dim parts. */
  color?: boolean;
  /** Times in UTC instead of the local time zone (tests). */
  utc?: boolean;
}

/**
 * One pino JSON line as one readable line (plus an indented stack when an error has one), with a trailing newline.
 * A line that is not a JSON object is returned as it is.
 */
export function formatLogLine(line: string, opts: LogFormatOptions = {}): string {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return `${text}\n`;
    entry = parsed as Record<string, unknown>;
  } catch {
    return `${text}\n`;
  }
  const paint = (code: string, s: string) => (opts.color ? `${code}${s}${RESET}` : s);

  const level = typeof entry.level === 'number' ? LEVELS[entry.level] : undefined;
  const levelName = (level?.name ?? String(entry.level ?? '?').toUpperCase()).padEnd(5);
  const parts: string[] = [
    paint(DIM, clock(typeof entry.time === 'number' ? entry.time : Date.now(), opts.utc ?? false)),
    level ? paint(level.color, levelName) : levelName,
  ];
  if (entry.msg !== undefined && entry.msg !== '') parts.push(String(entry.msg));

  // Fastify's request lines: "incoming request GET /api/x", "request completed 200 3.1 ms".
  const req = asRecord(entry.req);
  if (req && (req.method || req.url)) parts.push(`${String(req.method ?? '')} ${String(req.url ?? '')}`.trim());
  const res = asRecord(entry.res);
  if (res && res.statusCode !== undefined) parts.push(String(res.statusCode));
  if (typeof entry.responseTime === 'number') parts.push(`${entry.responseTime.toFixed(1)} ms`);

  const fields: string[] = [];
  const keys = [...FIRST.filter((k) => k in entry), ...Object.keys(entry).filter((k) => !FIRST.includes(k) && !HIDDEN.has(k))];
  for (const key of keys) fields.push(`${key}=${value(entry[key])}`);

  // An error: its message on the line, its stack (when it has one) below, indented.
  let stack = '';
  for (const key of ['err', 'error']) {
    const err = entry[key];
    if (err === undefined || err === null) continue;
    const rec = asRecord(err);
    if (rec) {
      const message = rec.message !== undefined ? String(rec.message) : JSON.stringify(rec);
      fields.push(`${key}=${value(rec.type && rec.type !== 'Error' ? `${String(rec.type)}: ${message}` : message)}`);
      if (typeof rec.stack === 'string') {
        // The stack's first line repeats the message.
        const frames = rec.stack.split('\n').filter((l) => /^\s+at /.test(l));
        if (frames.length > 0) stack += `${frames.map((l) => `    ${l.trim()}`).join('\n')}\n`;
      }
    } else {
      fields.push(`${key}=${value(err)}`);
    }
  }
  if (fields.length > 0) parts.push(paint(DIM, fields.join(' ')));
  return `${parts.join(' ')}\n${stack ? paint(DIM, stack.slice(0, -1)) + '\n' : ''}`;
}

/** A pino destination that writes each JSON line it gets as a readable line to `out`. */
export function readableLogStream(
  out: { write(chunk: string): unknown } = process.stdout,
  opts: LogFormatOptions = {},
): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line !== '') out.write(formatLogLine(line, opts));
      }
    },
  };
}

/**
 * The server's logger settings: pino's JSON on stdout, or readable lines when stdout is a terminal.
 * NO_COLOR (https://no-color.org) turns the colours off.
 */
export function serverLogger(
  level: string,
  out: { write(chunk: string): unknown; isTTY?: boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): { level: string; stream?: { write(chunk: string): void } } {
  if (!out.isTTY) return { level };
  return { level, stream: readableLogStream(out, { color: !env.NO_COLOR }) };
}

function clock(ms: number, utc: boolean): string {
  const d = new Date(ms);
  const [h, m, s, milli] = utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(milli, 3)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function asRecord(v: unknown): Record<string, unknown> | null {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** A field's value: bare when it is a plain word or number, quoted when it has spaces, compact JSON otherwise. */
function value(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = /^[\w./:@+-]+$/.test(v) ? v : JSON.stringify(v);
  else if (v === undefined) s = 'undefined';
  else s = JSON.stringify(v) ?? String(v);
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE)}…` : s;
}
