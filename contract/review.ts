// The review API (docs/api.md, "Review"): the bundle of one attempt, its commands, what changed, reviews and
// the dashboard's attempt list.

import type { SignalReport } from './signals.js';
import { ATTEMPT_MODES, ATTEMPT_STATES, type AttemptMode, type AttemptState, type AttemptView, type CheckVerdict, type EndReason } from './attempts.js';
import type { CheckConfirmation } from './grade.js';
import { shortVersion, type InviteView } from './invites.js';
import { DIMENSION_IDS, type DimensionId, type ScorecardDimension } from './scorecard.js';
import { ID_PATTERNS, idParams, intString, stringEnum, Type, type PersonRef, type Static, type TOptional, type TSchema } from './schema.js';

export type { PersonRef, ScorecardDimension };

export const RECOMMENDATIONS = ['strong-no', 'no', 'yes', 'strong-yes'] as const;
export type Recommendation = (typeof RECOMMENDATIONS)[number];

export const RECOMMENDATION_LABELS: Record<Recommendation, string> = {
  'strong-no': 'Strong no',
  no: 'No',
  yes: 'Yes',
  'strong-yes': 'Strong yes',
};

export type RatingValue = 1 | 2 | 3 | 4;
export const RATING_VALUES: readonly RatingValue[] = [1, 2, 3, 4];
export const RATING_LABELS: Record<RatingValue, string> = { 1: 'Weak', 2: 'Mixed', 3: 'Good', 4: 'Strong' };

/** Longest notes on one dimension, and longest summary of a review. */
export const REVIEW_LIMITS = { notes: 4000, summary: 10_000 } as const;

/** One dimension's rating: 1 (weak) to 4 (strong), or null (not rated), with notes. */
export const Rating = Type.Object(
  {
    rating: Type.Union([Type.Unsafe<RatingValue>(Type.Integer({ minimum: 1, maximum: 4 })), Type.Null()]),
    notes: Type.String({ maxLength: REVIEW_LIMITS.notes }),
  },
  { additionalProperties: false },
);
export type Rating = Static<typeof Rating>;

/** `{[id]: Optional<schema>}` for each id (one optional field per scorecard dimension). */
function optionalFields<K extends string, T extends TSchema>(keys: readonly K[], schema: T): Record<K, TOptional<T>> {
  return Object.fromEntries(keys.map((key) => [key, Type.Optional(schema)])) as unknown as Record<K, TOptional<T>>;
}
const ratingProperties = /* @__PURE__ */ optionalFields<DimensionId, typeof Rating>(DIMENSION_IDS, Rating);

/** `PUT /api/manage/attempts/:id/review`: ratings of the scorecard's dimensions only. */
export const ReviewInput = Type.Object(
  {
    ratings: Type.Object(ratingProperties, { additionalProperties: false }),
    recommendation: Type.Union([stringEnum(RECOMMENDATIONS), Type.Null()]),
    summary: Type.String({ maxLength: REVIEW_LIMITS.summary }),
  },
  { additionalProperties: false },
);
export type ReviewInput = Static<typeof ReviewInput>;

export interface ReviewCheck {
  id: string;
  title: string;
  points: number;
  /** Whether the candidate may see the message. */
  visible: boolean;
  verdict: CheckVerdict;
  message: string;
  details: string;
  durationMs: number;
  firstPassedAt: string | null;
  /** Judged by a person: `verdict` is the grader's preliminary one, counted only once confirmed. */
  advisory: boolean;
  /** The reviewer's decision on an advisory check (null: not confirmed yet, or not advisory). */
  confirmation: CheckConfirmation | null;
}

export interface Review {
  reviewer: PersonRef;
  ratings: Record<string, Rating>;
  recommendation: Recommendation | null;
  summary: string;
  /** The weight-averaged rating over the rated dimensions (1..4, two decimals), or null when nothing is rated. */
  weightedScore: number | null;
  updatedAt: string;
  mine: boolean;
}

export interface ReviewBundle {
  attempt: AttemptView;
  timeLimitSeconds: number;
  hintsRevealed: number;
  candidate: { name: string; email: string } | null;
  invite: Pick<InviteView, 'id' | 'showFeedback' | 'note' | 'createdBy' | 'createdAt' | 'expiresAt' | 'revokedAt'> | null;
  /**
   * `version`: the exercise's current version (null when it is no longer in the catalog); `takenVersion`: the version
   * the candidate was given (pinned by the invite, or at a practice start; null for attempts from before versions
   * were kept). Each grading says which version's checks ran (`gradings[].exerciseVersion`).
   */
  exercise: { id: string; title: string; summary: string; difficulty: string; skills: string[]; version: string | null; takenVersion: string | null };
  /** score and maxScore count advisory checks only once confirmed (tallyGrade in contract/grade.ts). */
  grading: {
    score: number;
    maxScore: number;
    /** Points of advisory checks awaiting a reviewer's confirmation. */
    pendingPoints: number;
    startedAt: string;
    finishedAt: string;
    error: string | null;
    checks: ReviewCheck[];
  } | null;
  /** Every final grading, oldest first (the first at the end of the attempt, then each regrade); the last is current. */
  gradings: GradingHistoryEntry[];
  /** Why the attempt cannot be graded again from its snapshot, or null when it can. */
  regradeRefusal: string | null;
  checkRuns: { finishedAt: string; score: number; maxScore: number }[];
  events: { at: string; kind: string; detail: unknown }[];
  scorecard: ScorecardDimension[];
  reviews: Review[];
}

/** One final grading of an attempt, as the review's history shows it. */
export interface GradingHistoryEntry {
  id: number;
  finishedAt: string;
  /** With the reviewers' confirmations of advisory checks, as the current grading. */
  score: number;
  maxScore: number;
  pendingPoints: number;
  error: string | null;
  /** The exercise version whose checks ran (null for gradings made before versions were kept). */
  exerciseVersion: string | null;
  /** What it read: the live sandbox, or the stored final snapshot. */
  source: 'sandbox' | 'snapshot' | null;
  /** The staff member who asked for it; null for the grading at the end of the attempt. */
  requestedBy: { id: string; name: string } | null;
  current: boolean;
  /** Checks whose verdict differs from the grading before it (null: the check was not in that grading). */
  changes: { id: string; title: string; from: CheckVerdict | null; to: CheckVerdict | null }[];
}

/** One command the candidate ran, taken from the recording. */
export interface Command {
  command: string;
  /** Seconds from the start of the recording: the replay's clock. */
  startedAt: number;
  durationMs: number | null;
  exitCode: number | null;
  /** `shell`: from the shell's OSC 133 marks; `input`: reconstructed from keystrokes when the marks were missing. */
  source: 'shell' | 'input';
  /** The attempt's terminal it ran in, when not terminal 1 (see MAX_TERMINALS in contract/terminal.ts). */
  terminal?: number;
}

/** `04:07`, `1:02:03`: a moment of the recording (a command's startedAt), as the timeline and the export show it. */
export function formatOffset(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const mm = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
  const ss = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

export interface CommandTimeline {
  commands: Command[];
  source: 'shell' | 'input' | 'mixed' | 'none';
  /** With a page (`?offset=&limit=`): how many commands there are in all, and where this page starts. */
  total?: number;
  offset?: number;
}

/** Commands per page of the timeline: the default and the most one request may ask for. */
export const COMMANDS_PAGE = { default: 2000, max: 5000 } as const;

/** `?offset=&limit=` of the command timeline, as digit strings. */
export const CommandPageQuery = Type.Object(
  { offset: Type.Optional(intString), limit: Type.Optional(intString) },
  { additionalProperties: false },
);
export type CommandPageQuery = Static<typeof CommandPageQuery>;

export interface SnapshotDiffView {
  changed: { path: string; change: string }[];
  diff: string;
}

/** Everything the self-contained HTML report (and export.json) holds. */
export interface ExportData {
  bundle: ReviewBundle;
  commands: CommandTimeline;
  diff: SnapshotDiffView | null;
  /** The asciicast v2 recording, as text. */
  cast: string | null;
  /** Pastes, absences and idle stretches (null: they could not be read). */
  signals: SignalReport | null;
  exportedAt: string;
}

// ---- the dashboard's attempt list ---------------------------------------------------------------------------

export const ATTEMPT_SORTS = ['createdAt', 'startedAt', 'endedAt', 'score', 'candidate', 'exercise'] as const;
export type AttemptSort = (typeof ATTEMPT_SORTS)[number];
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

/** Bounds the route checks on the numeric query values (they travel as digit strings). */
export const ATTEMPT_LIST_LIMITS = {
  score: { min: 0, max: 100 },
  page: { min: 1, max: 100_000 },
  pageSize: { min: 1, max: 100, default: 25 },
} as const;

/** `GET /api/manage/attempts` query: every field optional, numbers as digit strings. */
export const AttemptListQuery = Type.Object(
  {
    mode: Type.Optional(stringEnum(ATTEMPT_MODES)),
    state: Type.Optional(stringEnum(ATTEMPT_STATES)),
    exerciseId: Type.Optional(Type.String({ pattern: ID_PATTERNS.exercise })),
    interviewer: Type.Optional(Type.String({ pattern: ID_PATTERNS.userFilter })),
    minScore: Type.Optional(intString),
    maxScore: Type.Optional(intString),
    sort: Type.Optional(stringEnum(ATTEMPT_SORTS)),
    order: Type.Optional(stringEnum(SORT_ORDERS)),
    page: Type.Optional(intString),
    pageSize: Type.Optional(intString),
  },
  { additionalProperties: false },
);
export type AttemptListQuery = Static<typeof AttemptListQuery>;

export interface AttemptRow {
  id: string;
  exerciseId: string;
  exerciseTitle: string;
  mode: AttemptMode;
  state: AttemptState;
  endReason: EndReason | null;
  candidateName: string | null;
  interviewer: PersonRef | null;
  createdAt: string;
  startedAt: string | null;
  deadline: string | null;
  endedAt: string | null;
  score: number | null;
  maxScore: number | null;
  /** Points of advisory checks in the final grading still awaiting a reviewer (null: not graded). */
  pendingPoints: number | null;
  reviews: number;
}

export interface AttemptPage {
  attempts: AttemptRow[];
  total: number;
  page: number;
  pageSize: number;
}

export const ManageAttemptParams = idParams(ID_PATTERNS.attempt);

/**
 * What the review and its exports say of the exercise version: the one the candidate took (short form), whether the
 * exercise changed since, and which version the current grading ran where it is another one.
 */
export function exerciseVersionText(bundle: Pick<ReviewBundle, 'exercise' | 'gradings'>): string {
  const { takenVersion: taken, version: current } = bundle.exercise;
  const graded = bundle.gradings.find((g) => g.current)?.exerciseVersion ?? null;
  const parts = [taken ? shortVersion(taken) : 'not recorded (the attempt started before versions were kept)'];
  if (taken && current === null) parts.push('the exercise is no longer in the catalog');
  else if (taken && current !== taken) parts.push(`the exercise changed since (current ${shortVersion(current!)})`);
  else if (taken) parts.push('current');
  if (graded && graded !== taken) parts.push(`graded with version ${shortVersion(graded)}, not the one taken`);
  return parts.join(' · ');
}

/** A grading's version as the history shows it, with how it differs from the version taken and the current one. */
export function gradingVersionText(version: string | null, taken: string | null, current: string | null): string {
  if (!version) return '';
  const notes = [
    taken && version !== taken ? 'not the version the candidate took' : '',
    current && version !== current ? 'not the current one' : '',
  ].filter(Boolean);
  return `checks version ${shortVersion(version)}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}
