import type { Db } from './db.js';
import type { CheckVerdict, ConfirmedVerdict, Confirmations } from '../../../contract/index.js';

/** A reviewer's decision on an advisory check of an attempt; kept across regrades (per attempt and check). */
export interface StoredConfirmation {
  attemptId: string;
  checkId: string;
  verdict: ConfirmedVerdict;
  comment: string;
  /** The grader's verdict in the grading the reviewer saw, and that grading's id. */
  graderVerdict: CheckVerdict;
  gradingRunId: number;
  confirmedBy: string;
  confirmedAt: number;
}

interface Row {
  attempt_id: string;
  check_id: string;
  verdict: ConfirmedVerdict;
  comment: string;
  grader_verdict: CheckVerdict;
  grading_run_id: number;
  confirmed_by: string;
  confirmed_at: number;
}

const fromRow = (r: Row): StoredConfirmation => ({
  attemptId: r.attempt_id,
  checkId: r.check_id,
  verdict: r.verdict,
  comment: r.comment,
  graderVerdict: r.grader_verdict,
  gradingRunId: r.grading_run_id,
  confirmedBy: r.confirmed_by,
  confirmedAt: r.confirmed_at,
});

/** Reviewers' confirmations of advisory checks (contract/grade.ts says how they count). */
export class ConfirmationsRepo {
  constructor(private readonly db: Db) {}

  list(attemptId: string): StoredConfirmation[] {
    return (
      this.db.prepare('SELECT * FROM check_confirmations WHERE attempt_id = ? ORDER BY check_id').all(attemptId) as Row[]
    ).map(fromRow);
  }

  get(attemptId: string, checkId: string): StoredConfirmation | undefined {
    const row = this.db
      .prepare('SELECT * FROM check_confirmations WHERE attempt_id = ? AND check_id = ?')
      .get(attemptId, checkId) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** The verdicts by check id, as tallyGrade takes them. */
  verdicts(attemptId: string): Confirmations {
    return Object.fromEntries(this.list(attemptId).map((c) => [c.checkId, c.verdict]));
  }

  /** Sets (or replaces) the confirmation of one check. */
  put(c: StoredConfirmation): void {
    this.db
      .prepare(
        `INSERT INTO check_confirmations (attempt_id, check_id, verdict, comment, grader_verdict, grading_run_id, confirmed_by, confirmed_at)
         VALUES (@attemptId, @checkId, @verdict, @comment, @graderVerdict, @gradingRunId, @confirmedBy, @confirmedAt)
         ON CONFLICT (attempt_id, check_id) DO UPDATE SET
           verdict = excluded.verdict, comment = excluded.comment, grader_verdict = excluded.grader_verdict,
           grading_run_id = excluded.grading_run_id, confirmed_by = excluded.confirmed_by, confirmed_at = excluded.confirmed_at`,
      )
      .run(c);
  }

  /** Withdraws the confirmation of one check; answers whether there was one. */
  delete(attemptId: string, checkId: string): boolean {
    return this.db.prepare('DELETE FROM check_confirmations WHERE attempt_id = ? AND check_id = ?').run(attemptId, checkId).changes > 0;
  }
}
