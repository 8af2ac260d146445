import type { Db } from './db.js';
import type { AttemptMode, AttemptSort, AttemptState, EndReason, Rating, Recommendation, SortOrder } from '../../../contract/index.js';

export interface StoredReview {
  attemptId: string;
  reviewerId: string;
  ratings: Record<string, Rating>;
  recommendation: Recommendation | null;
  summary: string;
  createdAt: number;
  updatedAt: number;
}

interface ReviewRow {
  attempt_id: string;
  reviewer_id: string;
  ratings: string;
  recommendation: Recommendation | null;
  summary: string;
  created_at: number;
  updated_at: number;
}


const SORT_SQL: Record<AttemptSort, string> = {
  createdAt: 'a.created_at',
  startedAt: 'a.started_at',
  endedAt: 'a.ended_at',
  score: 'percent',
  candidate: 'i.candidate_name COLLATE NOCASE',
  exercise: 'a.exercise_id',
};

export interface AttemptQuery {
  mode?: AttemptMode;
  state?: AttemptState;
  exerciseId?: string;
  interviewer?: string;
  /** Score bounds in percent of the maximum. */
  minScore?: number;
  maxScore?: number;
  sort: AttemptSort;
  order: SortOrder;
  page: number;
  pageSize: number;
}

export interface AttemptListRow {
  id: string;
  exerciseId: string;
  mode: AttemptMode;
  state: AttemptState;
  endReason: EndReason | null;
  candidateName: string | null;
  interviewerId: string | null;
  createdAt: number;
  startedAt: number | null;
  deadline: number | null;
  endedAt: number | null;
  score: number | null;
  maxScore: number | null;
  reviews: number;
}

export class ReviewsRepo {
  constructor(private readonly db: Db) {}

  upsert(review: Omit<StoredReview, 'createdAt' | 'updatedAt'>): StoredReview {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO reviews (attempt_id, reviewer_id, ratings, recommendation, summary, created_at, updated_at)
         VALUES (@attemptId, @reviewerId, @ratings, @recommendation, @summary, @now, @now)
         ON CONFLICT (attempt_id, reviewer_id) DO UPDATE SET ratings = excluded.ratings,
           recommendation = excluded.recommendation, summary = excluded.summary, updated_at = excluded.updated_at`,
      )
      .run({ ...review, ratings: JSON.stringify(review.ratings), now });
    return this.list(review.attemptId).find((r) => r.reviewerId === review.reviewerId)!;
  }

  list(attemptId: string): StoredReview[] {
    const rows = this.db
      .prepare('SELECT * FROM reviews WHERE attempt_id = ? ORDER BY created_at')
      .all(attemptId) as ReviewRow[];
    return rows.map((r) => ({
      attemptId: r.attempt_id,
      reviewerId: r.reviewer_id,
      ratings: JSON.parse(r.ratings) as Record<string, Rating>,
      recommendation: r.recommendation,
      summary: r.summary,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  /** The dashboard: attempts with their candidate, interviewer, final score and number of reviews. */
  listAttempts(q: AttemptQuery): { rows: AttemptListRow[]; total: number } {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (q.mode) (where.push('a.mode = @mode'), (params.mode = q.mode));
    if (q.state) (where.push('a.state = @state'), (params.state = q.state));
    if (q.exerciseId) (where.push('a.exercise_id = @exerciseId'), (params.exerciseId = q.exerciseId));
    if (q.interviewer) (where.push('i.created_by = @interviewer'), (params.interviewer = q.interviewer));
    if (q.minScore !== undefined) (where.push('percent >= @minScore'), (params.minScore = q.minScore));
    if (q.maxScore !== undefined) (where.push('percent <= @maxScore'), (params.maxScore = q.maxScore));
    const from = `
      FROM (
        SELECT a.*, g.score AS score, g.max_score AS max_score,
          CASE WHEN g.max_score > 0 THEN 100.0 * g.score / g.max_score END AS percent
        FROM attempts a
        LEFT JOIN grading_runs g ON g.id = (
          SELECT id FROM grading_runs WHERE attempt_id = a.id AND kind = 'final' ORDER BY id DESC LIMIT 1)
      ) a
      LEFT JOIN invites i ON i.id = a.invite_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
    const total = (this.db.prepare(`SELECT COUNT(*) AS n ${from}`).get(params) as { n: number }).n;
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const rows = this.db
      .prepare(
        `SELECT a.id, a.exercise_id, a.mode, a.state, a.end_reason, i.candidate_name, i.created_by, a.created_at,
           a.started_at, a.deadline, a.ended_at, a.score, a.max_score,
           (SELECT COUNT(*) FROM reviews r WHERE r.attempt_id = a.id) AS reviews
         ${from}
         ORDER BY ${SORT_SQL[q.sort]} IS NULL, ${SORT_SQL[q.sort]} ${dir}, a.id ${dir}
         LIMIT @limit OFFSET @offset`,
      )
      .all({ ...params, limit: q.pageSize, offset: (q.page - 1) * q.pageSize }) as {
      id: string;
      exercise_id: string;
      mode: AttemptMode;
      state: AttemptState;
      end_reason: EndReason | null;
      candidate_name: string | null;
      created_by: string | null;
      created_at: number;
      started_at: number | null;
      deadline: number | null;
      ended_at: number | null;
      score: number | null;
      max_score: number | null;
      reviews: number;
    }[];
    return {
      total,
      rows: rows.map((r) => ({
        id: r.id,
        exerciseId: r.exercise_id,
        mode: r.mode,
        state: r.state,
        endReason: r.end_reason,
        candidateName: r.candidate_name,
        interviewerId: r.created_by,
        createdAt: r.created_at,
        startedAt: r.started_at,
        deadline: r.deadline,
        endedAt: r.ended_at,
        score: r.score,
        maxScore: r.max_score,
        reviews: r.reviews,
      })),
    };
  }
}
