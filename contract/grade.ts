// What a grading is worth: the one computation of a grade's points that the server (stored scores, the review
// bundle, exports, the dashboard) and the web UI (review page, workspace, practice result) share. Advisory checks
// (exercise-format.md, `advisory: true`) judge what only a person can: their points count neither in the earned
// nor in the maximum points until a reviewer confirms the grader's verdict or overrides it, and then count with
// the reviewer's verdict.

import type { CheckVerdict } from './attempts.js';
import { ID_PATTERNS, stringEnum, Type, type PersonRef, type Static } from './schema.js';

/** What a reviewer may decide on an advisory check. */
export const CONFIRMED_VERDICTS = ['pass', 'fail'] as const;
export type ConfirmedVerdict = (typeof CONFIRMED_VERDICTS)[number];

/** Longest comment on a confirmation. */
export const CONFIRMATION_LIMITS = { comment: 2000 } as const;

/** One check of a grading, as far as its points go. `advisory` missing: a grading made before checks could be. */
export interface GradedCheck {
  id: string;
  points: number;
  verdict: CheckVerdict;
  advisory?: boolean;
}

/** The reviewers' verdicts on advisory checks, by check id. */
export type Confirmations = Readonly<Record<string, ConfirmedVerdict | undefined>>;

export interface GradeTally {
  /** Points earned: passed checks, advisory ones only once confirmed (with the reviewer's verdict). */
  score: number;
  /** Points that count: checks that ended in pass or fail (never `error`), advisory ones only once confirmed. */
  maxScore: number;
  /** Points of advisory checks still awaiting a reviewer: in neither score nor maxScore. */
  pendingPoints: number;
  /** Ids of the advisory checks still awaiting a reviewer. */
  pendingChecks: string[];
}

/**
 * The grade of a grading's checks. A non-advisory check counts with the grader's verdict (`error`: the grader
 * broke, left out of both sums). An advisory check counts only with a reviewer's verdict, whatever the grader's
 * preliminary one was; without it its points are pending.
 */
export function tallyGrade(checks: readonly GradedCheck[], confirmations: Confirmations = {}): GradeTally {
  const tally: GradeTally = { score: 0, maxScore: 0, pendingPoints: 0, pendingChecks: [] };
  for (const check of checks) {
    const verdict = check.advisory ? confirmations[check.id] : check.verdict;
    if (check.advisory && verdict === undefined) {
      tally.pendingPoints += check.points;
      tally.pendingChecks.push(check.id);
      continue;
    }
    if (verdict === 'error' || verdict === undefined) continue;
    tally.maxScore += check.points;
    if (verdict === 'pass') tally.score += check.points;
  }
  return tally;
}

/** The verdict a check counts with: the grader's, or for an advisory check the reviewer's ('pending' without one). */
export function countedVerdict(check: GradedCheck, confirmed?: ConfirmedVerdict): CheckVerdict | 'pending' {
  return check.advisory ? (confirmed ?? 'pending') : check.verdict;
}

/** The share of the counted points earned, 0..100 rounded to a whole number; null when no point counts. */
export function gradePercent(score: number, maxScore: number): number | null {
  return maxScore > 0 ? Math.round((100 * score) / maxScore) : null;
}

/** "7/10", or "7/10 (+3 awaiting review)": a grade as the review page, the export and the reports show it. */
export function formatGrade(tally: Pick<GradeTally, 'score' | 'maxScore' | 'pendingPoints'>): string {
  return `${tally.score}/${tally.maxScore}${tally.pendingPoints > 0 ? ` (+${tally.pendingPoints} awaiting review)` : ''}`;
}

/** A reviewer's confirmation of an advisory check, as the review bundle shows it. */
export interface CheckConfirmation {
  /** The reviewer's verdict: what counts. */
  verdict: ConfirmedVerdict;
  comment: string;
  by: PersonRef;
  at: string;
  /** The grader's verdict when the reviewer decided. */
  graderVerdict: CheckVerdict;
  /** Whether a newer grading gave a different verdict than the one the reviewer saw (a regrade). */
  graderChanged: boolean;
}

/** `PUT /api/manage/attempts/:id/checks/:checkId/confirmation`. */
export const ConfirmationInput = Type.Object(
  {
    verdict: stringEnum(CONFIRMED_VERDICTS),
    comment: Type.Optional(Type.String({ maxLength: CONFIRMATION_LIMITS.comment })),
  },
  { additionalProperties: false },
);
export type ConfirmationInput = Static<typeof ConfirmationInput>;

/** A check id in a path: the exercise format's. */
export const CHECK_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';

export const ConfirmationParams = Type.Object(
  { id: Type.String({ pattern: ID_PATTERNS.attempt }), checkId: Type.String({ pattern: CHECK_ID_PATTERN }) },
  { additionalProperties: false },
);
export type ConfirmationParams = Static<typeof ConfirmationParams>;

/** What the review and the export say about an advisory check's state. */
export function advisoryNote(check: { verdict: CheckVerdict; confirmation: CheckConfirmation | null }): string {
  const c = check.confirmation;
  if (!c) return `advisory: not counted until confirmed (the grader's preliminary verdict: ${check.verdict})`;
  const decided =
    c.verdict === c.graderVerdict
      ? `${c.verdict} confirmed by ${c.by.name}`
      : `overridden to ${c.verdict} by ${c.by.name} (the grader said ${c.graderVerdict})`;
  const changed = c.graderChanged ? `; a newer grading says ${check.verdict}, look again` : '';
  return `advisory: ${decided}${changed}`;
}
