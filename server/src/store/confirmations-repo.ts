import { placeholders, type Sql } from './sql.js';
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
  constructor(private readonly sql: Sql) {}

  async list(attemptId: string): Promise<StoredConfirmation[]> {
    return (await this.sql.all<Row>('SELECT * FROM check_confirmations WHERE attempt_id = ? ORDER BY check_id', [attemptId])).map(fromRow);
  }

  async get(attemptId: string, checkId: string): Promise<StoredConfirmation | undefined> {
    const row = await this.sql.one<Row>('SELECT * FROM check_confirmations WHERE attempt_id = ? AND check_id = ?', [attemptId, checkId]);
    return row ? fromRow(row) : undefined;
  }

  /** The verdicts by check id, as tallyGrade takes them. */
  async verdicts(attemptId: string): Promise<Confirmations> {
    return (await this.verdictsFor([attemptId])).get(attemptId) ?? {};
  }

  /**
   * The verdicts of each attempt given that has any, by attempt id and then by check id: one read for a page of a
   * listing, whatever its length.
   */
  async verdictsFor(attemptIds: readonly string[]): Promise<Map<string, Confirmations>> {
    const out = new Map<string, Record<string, ConfirmedVerdict>>();
    if (attemptIds.length === 0) return out;
    const rows = await this.sql.all<Pick<Row, 'attempt_id' | 'check_id' | 'verdict'>>(
      `SELECT attempt_id, check_id, verdict FROM check_confirmations WHERE attempt_id IN (${placeholders(attemptIds.length)}) ORDER BY check_id`,
      attemptIds,
    );
    for (const r of rows) {
      const verdicts = out.get(r.attempt_id) ?? {};
      verdicts[r.check_id] = r.verdict;
      out.set(r.attempt_id, verdicts);
    }
    return out;
  }

  /** Sets (or replaces) the confirmation of one check. */
  async put(c: StoredConfirmation): Promise<void> {
    await this.sql.run(
      `INSERT INTO check_confirmations (attempt_id, check_id, verdict, comment, grader_verdict, grading_run_id, confirmed_by, confirmed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (attempt_id, check_id) DO UPDATE SET
         verdict = excluded.verdict, comment = excluded.comment, grader_verdict = excluded.grader_verdict,
         grading_run_id = excluded.grading_run_id, confirmed_by = excluded.confirmed_by, confirmed_at = excluded.confirmed_at`,
      [c.attemptId, c.checkId, c.verdict, c.comment, c.graderVerdict, c.gradingRunId, c.confirmedBy, c.confirmedAt],
    );
  }

  /** Withdraws the confirmation of one check; answers whether there was one. */
  async delete(attemptId: string, checkId: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM check_confirmations WHERE attempt_id = ? AND check_id = ?', [attemptId, checkId])) > 0;
  }
}
