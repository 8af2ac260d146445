// What reviewers of timed assessments expect to see, shown as facts (docs/api.md, "Workspace signals"): large pastes
// into the terminal or the editor, the tab losing focus and for how long, and stretches without input. The browser
// reports pastes and focus changes; idle stretches are computed by the server from the recording.

import { stringEnum, Type, type Static } from './schema.js';

export const SIGNAL_LIMITS = {
  /** A paste of at least this many characters is reported. */
  pasteMinChars: 200,
  /** The largest paste size a report may name (larger pastes are reported as this). */
  pasteMaxChars: 10_000_000,
  /** Reports one attempt may send in a minute. */
  reportsPerMinute: 30,
  /** No input for this long is an idle stretch. */
  idleMinutes: 5,
  /** Idle stretches, pastes and absences a summary lists at most. */
  maxListed: 200,
} as const;

export const PASTE_TARGETS = ['terminal', 'editor'] as const;
export type PasteTarget = (typeof PASTE_TARGETS)[number];

/**
 * `POST /api/attempts/:id/signals`: a paste (its size and where), the page hidden or out of focus (`away`), or back
 * (`back`). Times are the server's: the browser says what happened, not when.
 */
export const SignalBody = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('paste'),
      target: stringEnum(PASTE_TARGETS),
      chars: Type.Integer({ minimum: SIGNAL_LIMITS.pasteMinChars, maximum: SIGNAL_LIMITS.pasteMaxChars }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('away'), cause: stringEnum(['hidden', 'blur'] as const) },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('back') }, { additionalProperties: false }),
]);
export type SignalBody = Static<typeof SignalBody>;

export const SIGNAL_EVENTS = {
  paste: 'signal.paste',
  /** The page went away: written at once, so an absence still open survives a restart of the server. */
  awayOpen: 'signal.away.open',
  away: 'signal.away',
} as const;

/** The detail of a `signal.away.open` event. */
export interface AwayOpenSignalEvent {
  cause: 'hidden' | 'blur';
}

/** The detail of a `signal.paste` event. */
export interface PasteSignalEvent {
  target: PasteTarget;
  chars: number;
}

/** The detail of a `signal.away` event (written when the page comes back, or when the attempt ends while away). */
export interface AwaySignalEvent {
  cause: 'hidden' | 'blur';
  /** When the page went away (ISO); the event's own time is when it came back. */
  from: string;
  ms: number;
}

/** One stretch without input, on the server's clock. */
export interface IdleStretch {
  from: string;
  ms: number;
}

/** `GET /api/manage/attempts/:id/signals`: the facts, and a summary. */
export interface SignalReport {
  pastes: { at: string; target: PasteTarget; chars: number }[];
  away: { at: string; from: string; ms: number; cause: 'hidden' | 'blur' }[];
  idle: IdleStretch[];
  /** The page is away right now (an absence not yet ended): since when, and why; null otherwise. */
  awayNow: { from: string; cause: 'hidden' | 'blur' } | null;
  summary: {
    pasteCount: number;
    pastedChars: number;
    awayCount: number;
    awayMs: number;
    longestIdleMs: number;
    idleMinutes: number;
  };
}

/** "2 min 10 s", "45 s", "1 h 3 min": how the review says a stretch of time. */
export function formatStretch(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** "pasted 1,240 characters into the terminal". */
export function pasteText(chars: number, target: PasteTarget): string {
  return `pasted ${chars.toLocaleString('en-US')} characters into the ${target}`;
}

const KIB = 1024;
/** "512 B", "3.4 KiB", "2.0 MiB". */
export function sizeText(bytes: number): string {
  return bytes < KIB ? `${bytes} B` : bytes < KIB * KIB ? `${(bytes / KIB).toFixed(1)} KiB` : `${(bytes / KIB / KIB).toFixed(1)} MiB`;
}

/** One signal as a row of a timeline: seconds from the attempt's start, and plain words. */
export interface SignalFact {
  at: number;
  kind: 'paste' | 'away' | 'idle' | 'transfer';
  text: string;
}

/**
 * The facts of a report and of the attempt's transfer events (`file.uploaded`, `file.downloaded`,
 * `workspace.downloaded`), on the recording's clock (seconds from `startedAt`), in order. The review page's timeline
 * and the offline export both show these.
 */
export function signalFacts(
  report: SignalReport | null,
  events: { at: string; kind: string; detail: unknown }[],
  startedAt: string | null,
): SignalFact[] {
  const start = startedAt ? Date.parse(startedAt) : NaN;
  if (!Number.isFinite(start)) return [];
  const at = (iso: string) => Math.max(0, (Date.parse(iso) - start) / 1000);
  const facts: SignalFact[] = [];
  for (const p of report?.pastes ?? []) facts.push({ at: at(p.at), kind: 'paste', text: pasteText(p.chars, p.target) });
  for (const a of report?.away ?? []) {
    facts.push({ at: at(a.from), kind: 'away', text: `tab ${a.cause === 'hidden' ? 'hidden' : 'out of focus'} for ${formatStretch(a.ms)}` });
  }
  for (const s of report?.idle ?? []) facts.push({ at: at(s.from), kind: 'idle', text: `no input for ${formatStretch(s.ms)}` });
  for (const e of events) {
    const d = (e.detail ?? {}) as { path?: unknown; bytes?: unknown; entries?: unknown };
    const bytes = sizeText(Number(d.bytes ?? 0));
    if (e.kind === 'file.uploaded') facts.push({ at: at(e.at), kind: 'transfer', text: `uploaded ${String(d.path ?? '?')} (${bytes})` });
    if (e.kind === 'file.downloaded') facts.push({ at: at(e.at), kind: 'transfer', text: `downloaded ${String(d.path ?? '?')} (${bytes})` });
    if (e.kind === 'workspace.downloaded') {
      facts.push({ at: at(e.at), kind: 'transfer', text: `downloaded the workspace (${String(d.entries ?? '?')} entries, ${bytes})` });
    }
  }
  return facts.sort((x, y) => x.at - y.at);
}

/** The summary's lines (label and value), as the review page, the live view and the export say them. */
export function signalSummaryItems(summary: SignalReport['summary']): { key: 'pastes' | 'away' | 'idle'; label: string; value: string }[] {
  return [
    {
      key: 'pastes',
      label: 'Large pastes',
      value: summary.pasteCount === 0 ? 'none' : `${summary.pasteCount} (${summary.pastedChars.toLocaleString('en-US')} characters)`,
    },
    { key: 'away', label: 'Time away from the tab', value: summary.awayCount === 0 ? 'none' : `${formatStretch(summary.awayMs)} (${summary.awayCount}×)` },
    {
      key: 'idle',
      label: `Longest idle (≥ ${summary.idleMinutes} min)`,
      value: summary.longestIdleMs === 0 ? 'none' : formatStretch(summary.longestIdleMs),
    },
  ];
}

/** "tab hidden now, for 1 min 20 s" while the page is away. */
export function awayNowText(awayNow: NonNullable<SignalReport['awayNow']>, nowMs: number): string {
  return `tab ${awayNow.cause === 'hidden' ? 'hidden' : 'out of focus'} now, for ${formatStretch(nowMs - Date.parse(awayNow.from))}`;
}
