import type Docker from 'dockerode';
import type { ShellLogEntry } from '../../sandbox-driver.js';

/** Bytes of the engine's log read at most (the log itself is capped at a megabyte per sandbox). */
const MAX_READ_BYTES = 4 * 1024 * 1024;
const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) /;

/**
 * What the sandbox's shell printed since `sinceMs`, from the engine's log of the container's TTY (the engine keeps
 * it whether or not anyone was attached): entries in order, each with the engine's timestamp.
 */
export async function readShellLog(docker: Docker, id: string, sinceMs: number): Promise<ShellLogEntry[]> {
  const raw = (await docker.getContainer(id).logs({
    stdout: true,
    stderr: true,
    timestamps: true,
    follow: false,
    since: Math.max(0, Math.floor(sinceMs / 1000)),
  })) as unknown as Buffer;
  const text = raw.subarray(Math.max(0, raw.length - MAX_READ_BYTES));
  return parseShellLog(text);
}

/** Splits `docker logs --timestamps` output of a TTY container into entries (a line each, its end kept). */
export function parseShellLog(raw: Buffer): ShellLogEntry[] {
  const entries: ShellLogEntry[] = [];
  let start = 0;
  while (start < raw.length) {
    let end = raw.indexOf(0x0a, start);
    end = end === -1 ? raw.length : end + 1;
    const line = raw.subarray(start, end);
    const head = line.subarray(0, 40).toString('latin1');
    const m = STAMP.exec(head);
    if (m) {
      entries.push({ at: Date.parse(m[1]!), data: Buffer.from(line.subarray(m[0].length)) });
    } else if (entries.length) {
      // A line without a stamp continues the entry before it (a partial line the engine split).
      const last = entries[entries.length - 1]!;
      last.data = Buffer.concat([last.data, line]);
    }
    start = end;
  }
  return entries;
}
