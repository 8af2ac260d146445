// Typed client for the review routes (docs/api.md, "Review"): the bundle of one attempt, its commands, what
// changed, and the caller's own review. The shapes are the contract's (contract/review.ts).

import type { SignalReport } from '../../../contract/signals.js';
import { ApiError, request } from '../api.js';
import type {
  CommandTimeline,
  ConfirmationInput,
  GradingHistoryEntry,
  Review,
  ReviewBundle,
  ReviewInput,
  SnapshotDiffView,
} from '../../../contract/index.js';

export {
  advisoryNote,
  CONFIRMATION_LIMITS,
  countedVerdict,
  formatGrade,
  formatWeightedScore,
  RATING_LABELS,
  RATING_VALUES,
  RECOMMENDATION_LABELS,
  RECOMMENDATIONS,
  REVIEW_LIMITS,
  weightedScore,
  type Command,
  type CheckConfirmation,
  type CommandTimeline,
  type ConfirmationInput,
  type ConfirmedVerdict,
  type GradingHistoryEntry,
  type PersonRef,
  type Rating,
  type RatingValue,
  type Recommendation,
  type Review,
  type ReviewBundle,
  type ReviewCheck,
  type ReviewInput,
  type ScorecardDimension,
  type SnapshotDiffView,
} from '../../../contract/index.js';

/** What a decision on an advisory check answers: the grade and the grading history as they now count. */
export type GradeAnswer = Pick<ReviewBundle, 'grading' | 'gradings'>;

export function manageAttemptPath(id: string): string {
  return `/api/manage/attempts/${encodeURIComponent(id)}`;
}

export const reviewApi = {
  getBundle(id: string, signal?: AbortSignal): Promise<ReviewBundle> {
    return request<ReviewBundle>(manageAttemptPath(id), { signal });
  },

  getCommands(id: string, signal?: AbortSignal): Promise<CommandTimeline> {
    return request<CommandTimeline>(`${manageAttemptPath(id)}/commands`, { signal });
  },

  getSignals(id: string, signal?: AbortSignal): Promise<SignalReport> {
    return request<SignalReport>(`${manageAttemptPath(id)}/signals`, { signal });
  },

  /** null while there is no final snapshot yet (the attempt still runs, or it never started). */
  async getDiff(id: string, signal?: AbortSignal): Promise<SnapshotDiffView | null> {
    try {
      return await request<SnapshotDiffView>(`${manageAttemptPath(id)}/diff`, { signal });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  },

  async saveReview(id: string, body: ReviewInput, signal?: AbortSignal): Promise<Review> {
    const answer = await request<{ review: Review }>(`${manageAttemptPath(id)}/review`, { method: 'PUT', body, signal });
    return answer.review;
  },

  /** Confirms an advisory check's verdict or overrides it; answers with the grade as it now counts. */
  confirmCheck(id: string, checkId: string, body: ConfirmationInput, signal?: AbortSignal): Promise<GradeAnswer> {
    return request<GradeAnswer>(`${manageAttemptPath(id)}/checks/${encodeURIComponent(checkId)}/confirmation`, { method: 'PUT', body, signal });
  },

  /** Withdraws the decision on an advisory check: its points are pending again. */
  withdrawConfirmation(id: string, checkId: string, signal?: AbortSignal): Promise<GradeAnswer> {
    return request<GradeAnswer>(`${manageAttemptPath(id)}/checks/${encodeURIComponent(checkId)}/confirmation`, { method: 'DELETE', signal });
  },

  /** Runs the final grading again from the stored snapshot; answers with the grading history, the new one current. */
  async regrade(id: string, signal?: AbortSignal): Promise<GradingHistoryEntry[]> {
    const answer = await request<{ gradings: GradingHistoryEntry[] }>(`${manageAttemptPath(id)}/regrade`, { method: 'POST', signal });
    return answer.gradings;
  },

  /** Deletes the attempt and everything kept of it (a running one is stopped first). */
  async deleteAttempt(id: string, signal?: AbortSignal): Promise<void> {
    await request<void>(manageAttemptPath(id), { method: 'DELETE', signal });
  },

  recordingUrl: (id: string, terminal = 1): string => `${manageAttemptPath(id)}/recording${terminal === 1 ? '' : `?terminal=${terminal}`}`,
  exportHtmlUrl: (id: string): string => `${manageAttemptPath(id)}/export.html`,
  exportJsonUrl: (id: string): string => `${manageAttemptPath(id)}/export.json`,
};
