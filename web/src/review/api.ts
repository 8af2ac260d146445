// Typed client for the review routes (docs/api.md, "Review"): the bundle of one attempt, its commands, what
// changed, and the caller's own review. The shapes mirror server/src/review/types.ts.

import { ApiError, request, type AttemptView, type CheckVerdict } from '../api.js';

export const RECOMMENDATIONS = ['strong-no', 'no', 'yes', 'strong-yes'] as const;
export type Recommendation = (typeof RECOMMENDATIONS)[number];

export const RECOMMENDATION_LABELS: Record<Recommendation, string> = {
  'strong-no': 'Strong no',
  no: 'No',
  yes: 'Yes',
  'strong-yes': 'Strong yes',
};

export type RatingValue = 1 | 2 | 3 | 4;
export const RATING_LABELS: Record<RatingValue, string> = { 1: 'Weak', 2: 'Mixed', 3: 'Good', 4: 'Strong' };

export interface PersonRef {
  id: string;
  name: string;
}

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
}

export interface ScorecardDimension {
  id: string;
  title: string;
  weight: number;
  preselected: boolean;
}

export interface Rating {
  rating: RatingValue | null;
  notes: string;
}

export interface Review {
  reviewer: PersonRef;
  ratings: Record<string, Rating>;
  recommendation: Recommendation | null;
  summary: string;
  weightedScore: number | null;
  updatedAt: string;
  mine: boolean;
}

export interface ReviewBundle {
  attempt: AttemptView;
  timeLimitSeconds: number;
  hintsRevealed: number;
  candidate: { name: string; email: string } | null;
  invite: {
    id: string;
    showFeedback: boolean;
    note: string | null;
    createdBy: PersonRef;
    createdAt: string;
    expiresAt: string;
    revokedAt: string | null;
  } | null;
  exercise: { id: string; title: string; summary: string; difficulty: string; skills: string[] };
  grading: {
    score: number;
    maxScore: number;
    startedAt: string;
    finishedAt: string;
    error: string | null;
    checks: ReviewCheck[];
  } | null;
  checkRuns: { finishedAt: string; score: number; maxScore: number }[];
  events: { at: string; kind: string; detail: unknown }[];
  scorecard: ScorecardDimension[];
  reviews: Review[];
}

export interface Command {
  command: string;
  /** Seconds from the start of the recording. */
  startedAt: number;
  durationMs: number | null;
  exitCode: number | null;
  source: 'shell' | 'input';
}

export interface CommandTimeline {
  commands: Command[];
  source: 'shell' | 'input' | 'mixed' | 'none';
}

export interface SnapshotDiffView {
  changed: { path: string; change: string }[];
  diff: string;
}

export interface ReviewInput {
  ratings: Record<string, Rating>;
  recommendation: Recommendation | null;
  summary: string;
}

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

  /** Deletes the attempt and everything kept of it (a running one is stopped first). */
  async deleteAttempt(id: string, signal?: AbortSignal): Promise<void> {
    await request<void>(manageAttemptPath(id), { method: 'DELETE', signal });
  },

  recordingUrl: (id: string): string => `${manageAttemptPath(id)}/recording`,
  exportHtmlUrl: (id: string): string => `${manageAttemptPath(id)}/export.html`,
  exportJsonUrl: (id: string): string => `${manageAttemptPath(id)}/export.json`,
};

/** The weight-averaged rating over the rated dimensions, as the server computes it; null when nothing is rated. */
export function weightedScore(ratings: Record<string, Rating>, dimensions: ScorecardDimension[]): number | null {
  let sum = 0;
  let weights = 0;
  for (const dim of dimensions) {
    const rating = ratings[dim.id]?.rating;
    if (!rating) continue;
    sum += rating * dim.weight;
    weights += dim.weight;
  }
  return weights > 0 ? sum / weights : null;
}
