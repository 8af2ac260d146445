import fs from 'node:fs';
import {
  SIGNAL_EVENTS,
  SIGNAL_LIMITS,
  type AwayOpenSignalEvent,
  type AwaySignalEvent,
  type IdleStretch,
  type PasteSignalEvent,
  type SignalBody,
  type SignalReport,
} from '../../../contract/signals.js';
import { TRANSFER_EVENTS } from '../../../contract/files.js';
import { ERROR_CODES } from '../../../contract/errors.js';
import { errors, OpslabError } from '../errors.js';
import type { Attempt } from '../store/attempts-repo.js';
import { MinuteBudget } from './files-service.js';

export const signalErrors = {
  rate: (retryAfterSeconds: number) =>
    new OpslabError(ERROR_CODES.signalRate, 429, `Too many reports; try again in ${retryAfterSeconds} s.`, {
      'retry-after': String(retryAfterSeconds),
    }),
};

export interface SignalsServiceDeps {
  addEvent(attemptId: string, kind: string, detail: unknown): Promise<void>;
  /** The attempt's events of these kinds, oldest first (`at` in epoch milliseconds). */
  events(attemptId: string, kinds: readonly string[]): Promise<{ at: number; kind: string; detail: unknown }[]>;
  mark(attemptId: string, label: string): void;
  now?: () => number;
}

/** The events that open and end absences. */
const ABSENCE_EVENTS = [SIGNAL_EVENTS.awayOpen, SIGNAL_EVENTS.away] as const;

/**
 * The absence still open in an attempt's events: the last `signal.away.open` with no `signal.away` after it. The
 * events are the record, so an absence open when the server restarted is ended (and measured) all the same.
 */
export function openAbsence(events: { at: number; kind: string; detail: unknown }[]): { since: number; cause: 'hidden' | 'blur' } | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind === SIGNAL_EVENTS.away) return null;
    if (e.kind === SIGNAL_EVENTS.awayOpen) return { since: e.at, cause: (e.detail as AwayOpenSignalEvent).cause === 'hidden' ? 'hidden' : 'blur' };
  }
  return null;
}

/**
 * What the workspace's page reports: large pastes, and the page going away and coming back. The times are the
 * server's (the browser only says what happened). An absence is written when it starts (`signal.away.open`) and
 * becomes one `signal.away` event, measured here, when the page comes back or the attempt ends.
 */
export class SignalsService {
  private readonly budget = new MinuteBudget(SIGNAL_LIMITS.reportsPerMinute, signalErrors.rate);

  constructor(private readonly deps: SignalsServiceDeps) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  async report(attempt: Attempt, body: SignalBody): Promise<{ recorded: boolean }> {
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    this.budget.take(attempt.id, this.now());
    switch (body.kind) {
      case 'paste': {
        const detail: PasteSignalEvent = { target: body.target, chars: body.chars };
        await this.deps.addEvent(attempt.id, SIGNAL_EVENTS.paste, detail);
        this.deps.mark(attempt.id, `paste ${body.chars} characters into the ${body.target}`);
        return { recorded: true };
      }
      case 'away': {
        // The first report of an absence counts (a blur then a hidden tab is one absence).
        if (openAbsence(await this.deps.events(attempt.id, ABSENCE_EVENTS))) return { recorded: false };
        const detail: AwayOpenSignalEvent = { cause: body.cause };
        await this.deps.addEvent(attempt.id, SIGNAL_EVENTS.awayOpen, detail);
        this.deps.mark(attempt.id, `page ${body.cause === 'hidden' ? 'hidden' : 'out of focus'}`);
        return { recorded: true };
      }
      case 'back':
        return { recorded: await this.close(attempt.id, 'page back') };
    }
  }

  /** Ends an open absence (the page came back, or the attempt ended): one `signal.away` event. */
  async close(attemptId: string, label = 'page back'): Promise<boolean> {
    const open = openAbsence(await this.deps.events(attemptId, ABSENCE_EVENTS));
    if (!open) return false;
    const now = Math.max(this.now(), open.since);
    const detail: AwaySignalEvent = { cause: open.cause, from: new Date(open.since).toISOString(), ms: now - open.since };
    await this.deps.addEvent(attemptId, SIGNAL_EVENTS.away, detail);
    this.deps.mark(attemptId, label);
    return true;
  }
}

/** Event kinds that are the candidate's input besides the terminal's keystrokes. */
const INPUT_EVENTS = new Set<string>(['file.saved', TRANSFER_EVENTS.uploaded, SIGNAL_EVENTS.paste]);

/**
 * The input times of a recording: the `i` events of an asciicast v2 text, as epoch milliseconds (the header's
 * `timestamp` plus each event's offset). Lines that do not parse are skipped.
 */
export function inputTimes(cast: string | null): number[] {
  if (!cast) return [];
  const newline = cast.indexOf('\n');
  if (newline < 0) return [];
  let start: number;
  try {
    const header = JSON.parse(cast.slice(0, newline)) as { timestamp?: unknown };
    if (typeof header.timestamp !== 'number') return [];
    start = header.timestamp * 1000;
  } catch {
    return [];
  }
  const times: number[] = [];
  // Only the input lines are parsed: `[12.5, "i", ...]`.
  const re = /^\[\s*([0-9.eE+-]+)\s*,\s*"i"/gm;
  for (const m of cast.slice(newline + 1).matchAll(re)) {
    const offset = Number(m[1]);
    if (Number.isFinite(offset)) times.push(start + offset * 1000);
  }
  return times;
}

const INPUT_LINE = /^\[\s*([0-9.eE+-]+)\s*,\s*"i"/;

/**
 * Input times read from a recording file, line by line (it may be far larger than a string can hold). A recording
 * only grows: what was read is kept, and a later call reads only the lines written since (a live view asks every
 * few seconds while the attempt runs).
 */
const fileCache = new Map<string, { size: number; mtimeMs: number; consumed: number; start: number | null; times: number[] }>();
export async function inputTimesOfFile(file: string): Promise<number[]> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return [];
  }
  const cached = fileCache.get(file);
  if (cached && cached.size === stat.size && cached.mtimeMs === stat.mtimeMs) return cached.times;
  // Read on from the last complete line when the file only grew; from its start otherwise.
  const resume = cached && cached.start !== null && stat.size >= cached.consumed ? cached : null;
  let start = resume?.start ?? null;
  let consumed = resume?.consumed ?? 0;
  const times = resume ? [...resume.times] : [];
  let bad = false;
  /** One line of the recording: its header first, then events. */
  const line = (text: string): void => {
    if (start === null) {
      try {
        const header = JSON.parse(text) as { timestamp?: unknown };
        if (typeof header.timestamp === 'number') start = header.timestamp * 1000;
        else bad = true;
      } catch {
        bad = true;
      }
      return;
    }
    const m = INPUT_LINE.exec(text);
    if (m) {
      const offset = Number(m[1]);
      if (Number.isFinite(offset)) times.push(start + offset * 1000);
    }
  };
  /** Bytes after the last complete line so far; `consumed` is the file offset where they begin. */
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { start: consumed })) {
    const buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    const end = buf.lastIndexOf(0x0a);
    if (end < 0) {
      rest = buf;
      continue;
    }
    for (const text of buf.subarray(0, end).toString('utf8').split('\n')) {
      if (!bad) line(text.replace(/\r$/, ''));
    }
    consumed += end + 1;
    rest = buf.subarray(end + 1);
    if (bad) break;
  }
  if (bad) return [];
  // A last line still being written counts now, and is read again, whole, next time.
  const whole = [...times];
  if (rest.length && start !== null) line(rest.toString('utf8'));
  // A few recordings at a time: a review page reads one.
  if (!fileCache.has(file) && fileCache.size >= 16) fileCache.delete(fileCache.keys().next().value!);
  fileCache.set(file, { size: stat.size, mtimeMs: stat.mtimeMs, consumed, start, times: whole });
  return times;
}

/**
 * The input times of several recordings (an attempt's terminals), together: input in any terminal counts, so a
 * candidate working in the second terminal is not idle for lack of keystrokes in the first. Not in order.
 */
export async function inputTimesOfFiles(files: string[]): Promise<number[]> {
  let times: number[] = [];
  for (const file of files) times = times.concat(await inputTimesOfFile(file));
  return times;
}

/**
 * The report reviewers read (`cast`: the recording's text, or its input times): each paste and absence as recorded,
 * and the stretches of at least
 * SIGNAL_LIMITS.idleMinutes without input (keystrokes from the recording, saves, uploads, pastes), measured from
 * the start to the end of the attempt (or now, while it runs).
 */
export function signalReport(
  events: { at: number; kind: string; detail: unknown }[],
  cast: string | number[] | null,
  span: { startedAt: number | null; endedAt: number | null; now: number },
): SignalReport {
  const iso = (ms: number) => new Date(ms).toISOString();
  const pastes = events
    .filter((e) => e.kind === SIGNAL_EVENTS.paste)
    .map((e) => {
      const d = e.detail as PasteSignalEvent;
      return { at: iso(e.at), target: d.target, chars: d.chars };
    });
  const away = events
    .filter((e) => e.kind === SIGNAL_EVENTS.away)
    .map((e) => {
      const d = e.detail as AwaySignalEvent;
      return { at: iso(e.at), from: d.from, ms: d.ms, cause: d.cause };
    });
  const idle: IdleStretch[] = [];
  const idleMs = SIGNAL_LIMITS.idleMinutes * 60_000;
  if (span.startedAt !== null) {
    const end = span.endedAt ?? span.now;
    const times = [
      ...(Array.isArray(cast) ? cast : inputTimes(cast)),
      ...events.filter((e) => INPUT_EVENTS.has(e.kind)).map((e) => e.at),
    ]
      .filter((t) => t >= span.startedAt! && t <= end)
      .sort((a, b) => a - b);
    let last = span.startedAt;
    for (const t of [...times, end]) {
      if (t - last >= idleMs) idle.push({ from: iso(last), ms: t - last });
      last = Math.max(last, t);
    }
  }
  const open = span.endedAt === null ? openAbsence(events) : null;
  return {
    pastes: pastes.slice(0, SIGNAL_LIMITS.maxListed),
    away: away.slice(0, SIGNAL_LIMITS.maxListed),
    idle: idle.slice(0, SIGNAL_LIMITS.maxListed),
    awayNow: open ? { from: iso(open.since), cause: open.cause } : null,
    summary: {
      pasteCount: pastes.length,
      pastedChars: pastes.reduce((n, p) => n + p.chars, 0),
      awayCount: away.length,
      awayMs: away.reduce((n, a) => n + a.ms, 0),
      longestIdleMs: idle.reduce((n, s) => Math.max(n, s.ms), 0),
      idleMinutes: SIGNAL_LIMITS.idleMinutes,
    },
  };
}
