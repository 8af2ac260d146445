import { placeholders, type Sql, type SqlValue } from './sql.js';
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


/**
 * What each sort orders by. Text is compared by code point on both databases: SQLite does so anyway, and on
 * PostgreSQL the database's own locale would otherwise decide (where spaces and punctuation count differs).
 */
const SORT_SQL: Record<AttemptSort, string> = {
  createdAt: 'a.created_at',
  startedAt: 'a.started_at',
  endedAt: 'a.ended_at',
  score: 'percent',
  candidate: 'LOWER(i.candidate_name)',
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
  candidateEmail: string | null;
  interviewerId: string | null;
  createdAt: number;
  startedAt: number | null;
  deadline: number | null;
  endedAt: number | null;
  /** The exercise version the attempt was provisioned from (null: started before versions were kept). */
  exerciseVersion: string | null;
  score: number | null;
  maxScore: number | null;
  reviews: number;
}

export class ReviewsRepo {
  constructor(private readonly sql: Sql) {}

  upsert(review: Omit<StoredReview, 'createdAt' | 'updatedAt'>): Promise<StoredReview> {
    const now = Date.now();
    return this.sql.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO reviews (attempt_id, reviewer_id, ratings, recommendation, summary, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (attempt_id, reviewer_id) DO UPDATE SET ratings = excluded.ratings,
           recommendation = excluded.recommendation, summary = excluded.summary, updated_at = excluded.updated_at`,
        [review.attemptId, review.reviewerId, JSON.stringify(review.ratings), review.recommendation, review.summary, now, now],
      );
      return (await list(tx, review.attemptId)).find((r) => r.reviewerId === review.reviewerId)!;
    });
  }

  list(attemptId: string): Promise<StoredReview[]> {
    return list(this.sql, attemptId);
  }

  /**
   * The reviews of each attempt given that has any, by attempt id (each attempt's oldest first): one read for a
   * batch of a listing, whatever its length.
   */
  listFor(attemptIds: readonly string[]): Promise<Map<string, StoredReview[]>> {
    return listFor(this.sql, attemptIds);
  }

  private byCodePoint(sort: AttemptSort): string {
    return this.sql.dialect === 'postgres' && (sort === 'candidate' || sort === 'exercise') ? ' COLLATE "C"' : '';
  }

  /** The dashboard: attempts with their candidate, interviewer, final score and number of reviews. */
  async listAttempts(q: AttemptQuery): Promise<{ rows: AttemptListRow[]; total: number }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const when = (condition: string, value: SqlValue | undefined) => {
      if (value === undefined) return;
      where.push(condition);
      params.push(value);
    };
    when('a.mode = ?', q.mode || undefined);
    when('a.state = ?', q.state || undefined);
    when('a.exercise_id = ?', q.exerciseId || undefined);
    when('i.created_by = ?', q.interviewer || undefined);
    when('percent >= ?', q.minScore);
    when('percent <= ?', q.maxScore);
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
    const total = (await this.sql.one<{ n: number }>(`SELECT COUNT(*) AS n ${from}`, params))!.n;
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const rows = await this.sql.all<{
      id: string;
      exercise_id: string;
      mode: AttemptMode;
      state: AttemptState;
      end_reason: EndReason | null;
      candidate_name: string | null;
      candidate_email: string | null;
      created_by: string | null;
      created_at: number;
      started_at: number | null;
      deadline: number | null;
      ended_at: number | null;
      exercise_version: string | null;
      score: number | null;
      max_score: number | null;
      reviews: number;
    }>(
      `SELECT a.id, a.exercise_id, a.mode, a.state, a.end_reason, i.candidate_name, i.candidate_email, i.created_by,
         a.created_at, a.started_at, a.deadline, a.ended_at, a.exercise_version, a.score, a.max_score,
         (SELECT COUNT(*) FROM reviews r WHERE r.attempt_id = a.id) AS reviews
       ${from}
       ORDER BY ${SORT_SQL[q.sort]} IS NULL, ${SORT_SQL[q.sort]}${this.byCodePoint(q.sort)} ${dir}, a.id ${dir}
       LIMIT ? OFFSET ?`,
      [...params, q.pageSize, (q.page - 1) * q.pageSize],
    );
    return {
      total,
      rows: rows.map((r) => ({
        id: r.id,
        exerciseId: r.exercise_id,
        mode: r.mode,
        state: r.state,
        endReason: r.end_reason,
        candidateName: r.candidate_name,
        candidateEmail: r.candidate_email,
        interviewerId: r.created_by,
        createdAt: r.created_at,
        startedAt: r.started_at,
        deadline: r.deadline,
        endedAt: r.ended_at,
        exerciseVersion: r.exercise_version,
        score: r.score,
        maxScore: r.max_score,
        reviews: r.reviews,
      })),
    };
  }
}

async function list(sql: Sql, attemptId: string): Promise<StoredReview[]> {
  return (await listFor(sql, [attemptId])).get(attemptId) ?? [];
}

async function listFor(sql: Sql, attemptIds: readonly string[]): Promise<Map<string, StoredReview[]>> {
  const out = new Map<string, StoredReview[]>();
  if (attemptIds.length === 0) return out;
  const rows = await sql.all<ReviewRow>(
    `SELECT * FROM reviews WHERE attempt_id IN (${placeholders(attemptIds.length)}) ORDER BY created_at`,
    attemptIds,
  );
  for (const r of rows) {
    const review: StoredReview = {
      attemptId: r.attempt_id,
      reviewerId: r.reviewer_id,
      ratings: JSON.parse(r.ratings) as Record<string, Rating>,
      recommendation: r.recommendation,
      summary: r.summary,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
    const ofAttempt = out.get(r.attempt_id);
    if (ofAttempt) ofAttempt.push(review);
    else out.set(r.attempt_id, [review]);
  }
  return out;
}
