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
  away: 'signal.away',
} as const;

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
