import { placeholders, type Sql } from './sql.js';
import { ConfirmationsRepo, type StoredConfirmation } from './confirmations-repo.js';
import { tallyGrade, type GradedCheck } from '../../../contract/grade.js';
import type { CheckResult } from '../../../contract/attempts.js';

/** A check's result as stored with the attempt: exactly what the grader reported. */
export type StoredCheckResult = CheckResult;

export const RUN_KINDS = ['progress', 'final'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export interface StoredRun {
  id: number;
  attemptId: string;
  kind: RunKind;
  startedAt: number;
  finishedAt: number;
  /**
   * The grade as it counts (tallyGrade, contract/grade.ts): advisory checks only once a reviewer confirmed them, for
   * final gradings with the confirmations kept for the attempt. Kept up to date when a confirmation changes.
   */
  score: number;
  maxScore: number;
  results: StoredCheckResult[];
  /** Clean-room jobs run before the checks (the candidate's pipeline from a clean clone, say). */
  cleanroom: { id: string; exitCode: number; durationMs: number }[];
  /** Set when the grading run itself could not be carried out (engine error): no verdicts then. */
  error: string | null;
  /** The exercise's version (a hash of its definition, checks and hidden data) the run used; null before it was kept. */
  exerciseVersion?: string | null;
  /** What the run read: the live sandbox, or the stored final snapshot. */
  source?: GradingSource | null;
  /** The staff member who asked for it (a regrade); null for the gradings the platform runs itself. */
  requestedBy?: string | null;
}

export const GRADING_SOURCES = ['sandbox', 'snapshot'] as const;
export type GradingSource = (typeof GRADING_SOURCES)[number];

interface Row {
  id: number;
  attempt_id: string;
  kind: RunKind;
  started_at: number;
  finished_at: number;
  score: number;
  max_score: number;
  results: string;
  cleanroom: string;
  error: string | null;
  exercise_version: string | null;
  source: GradingSource | null;
  requested_by: string | null;
}

const fromRow = (r: Row): StoredRun => ({
  id: r.id,
  attemptId: r.attempt_id,
  kind: r.kind,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  score: r.score,
  maxScore: r.max_score,
  // Gradings made before checks could be advisory have no flag: none was.
  results: (JSON.parse(r.results) as StoredCheckResult[]).map((c) => ({ ...c, advisory: c.advisory ?? false })),
  cleanroom: JSON.parse(r.cleanroom) as StoredRun['cleanroom'],
  error: r.error,
  exerciseVersion: r.exercise_version,
  source: r.source,
  requestedBy: r.requested_by,
});

/** The current final grading as far as its points go: each check's id, points, verdict and advisory flag, in order. */
export interface FinalVerdicts {
  exerciseVersion: string | null;
  error: string | null;
  checks: GradedCheck[];
}

/** The current final grading's grade: what a listing of many attempts shows of it. */
export interface FinalScore {
  score: number;
  maxScore: number;
  error: string | null;
}

/** Attempts read per query by finalScoresFor (well under either database's limit on placeholders). */
const FINAL_SCORES_BATCH = 500;

type VerdictsRow = { attempt_id: string; exercise_version: string | null; error: string | null; checks: string | GradedCheckRow[] };
type GradedCheckRow = { id: string; points: number; verdict: GradedCheck['verdict']; advisory: number | boolean | null };

/** The ids of the current final gradings (the latest of each attempt) of `n` attempts given as `?` placeholders. */
const latestFinalIds = (n: number) =>
  `SELECT MAX(id) FROM grading_runs WHERE kind = 'final' AND attempt_id IN (${placeholders(n)}) GROUP BY attempt_id`;

/**
 * The current final gradings' checks of `n` attempts without messages or details, picked out by the database (a
 * listing of many attempts reads no more than it shows). Each database says it in its own JSON functions.
 */
const FINAL_VERDICTS = {
  sqlite: (n: number) => `SELECT g.attempt_id, g.exercise_version, g.error,
      (SELECT json_group_array(json_object('id', json_extract(value, '$.id'), 'points', json_extract(value, '$.points'),
                'verdict', json_extract(value, '$.verdict'), 'advisory', json_extract(value, '$.advisory')))
         FROM (SELECT value FROM json_each(g.results) ORDER BY key)) AS checks
    FROM grading_runs g WHERE g.id IN (${latestFinalIds(n)})`,
  postgres: (n: number) => `SELECT g.attempt_id, g.exercise_version, g.error,
      (SELECT COALESCE(json_agg(json_build_object('id', e->'id', 'points', e->'points', 'verdict', e->'verdict',
                'advisory', e->'advisory') ORDER BY i), '[]'::json)
         FROM json_array_elements(g.results::json) WITH ORDINALITY AS t(e, i)) AS checks
    FROM grading_runs g WHERE g.id IN (${latestFinalIds(n)})`,
};

/** An attempt has one final grading (regrades aside): a second one is refused, whichever server runs it. */
export class FinalGradingExistsError extends Error {
  constructor(readonly attemptId: string) {
    super(`attempt ${attemptId} already has its final grading`);
    this.name = 'FinalGradingExistsError';
  }
}

export class GradingRepo {
  /** The reviewers' confirmations of advisory checks, which final gradings are counted with. */
  readonly confirmations: ConfirmationsRepo;

  constructor(private readonly sql: Sql) {
    this.confirmations = new ConfirmationsRepo(sql);
  }

  /** Stores a run; its score and maxScore are counted here (a final one with the attempt's confirmations). */
  insert(given: Omit<StoredRun, 'id'>): Promise<StoredRun> {
    return this.sql.transaction(async (tx) => {
      const { score, maxScore } = await tally(tx, given.attemptId, given.kind, given.results);
      const run = { ...given, score, maxScore };
      const row = await tx.one<{ id: number }>(
        `INSERT INTO grading_runs (attempt_id, kind, started_at, finished_at, score, max_score, results, cleanroom, error,
                                   exercise_version, source, requested_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
        [
          run.attemptId,
          run.kind,
          run.startedAt,
          run.finishedAt,
          run.score,
          run.maxScore,
          JSON.stringify(run.results),
          JSON.stringify(run.cleanroom),
          run.error,
          run.exerciseVersion ?? null,
          run.source ?? null,
          run.requestedBy ?? null,
        ],
      );
      if (!row) throw new FinalGradingExistsError(run.attemptId);
      return { ...run, id: row.id };
    });
  }

  /**
   * Counts every final grading of the attempt again with its current confirmations (after one was set or
   * withdrawn), so that the dashboard, the practice catalog and the history show the grade as it counts.
   */
  recount(attemptId: string): Promise<void> {
    return this.sql.transaction((tx) => recount(tx, attemptId));
  }

  /** Sets a confirmation and counts the attempt's final gradings again, in one transaction. */
  confirm(c: StoredConfirmation): Promise<void> {
    return this.sql.transaction(async (tx) => {
      await new ConfirmationsRepo(tx).put(c);
      await recount(tx, c.attemptId);
    });
  }

  /** Withdraws a confirmation and counts the attempt's final gradings again; answers with what was withdrawn. */
  withdraw(attemptId: string, checkId: string): Promise<StoredConfirmation | undefined> {
    return this.sql.transaction(async (tx) => {
      const confirmations = new ConfirmationsRepo(tx);
      const was = await confirmations.get(attemptId, checkId);
      if (was) {
        await confirmations.delete(attemptId, checkId);
        await recount(tx, attemptId);
      }
      return was;
    });
  }

  async list(attemptId: string): Promise<StoredRun[]> {
    return (await this.sql.all<Row>('SELECT * FROM grading_runs WHERE attempt_id = ? ORDER BY id', [attemptId])).map(fromRow);
  }

  /** Every final grading of the attempt, oldest first: the first at its end, then each regrade. */
  finals(attemptId: string): Promise<StoredRun[]> {
    return finals(this.sql, attemptId);
  }

  /** The current final grading: the latest one. */
  async final(attemptId: string): Promise<StoredRun | undefined> {
    const row = await this.sql.one<Row>(`SELECT * FROM grading_runs WHERE attempt_id = ? AND kind = 'final' ORDER BY id DESC LIMIT 1`, [attemptId]);
    return row ? fromRow(row) : undefined;
  }

  /**
   * The current final grading of each attempt given that has one, as far as its points go (FinalVerdicts), by
   * attempt id: one read for a page of a listing, whatever its length. Attempts without a final grading have no entry.
   */
  async finalVerdictsFor(attemptIds: readonly string[]): Promise<Map<string, FinalVerdicts>> {
    const out = new Map<string, FinalVerdicts>();
    if (attemptIds.length === 0) return out;
    for (const row of await this.sql.all<VerdictsRow>(FINAL_VERDICTS[this.sql.dialect](attemptIds.length), attemptIds)) {
      const listed = typeof row.checks === 'string' ? (JSON.parse(row.checks) as GradedCheckRow[]) : row.checks;
      const checks = listed.map((c) => ({ id: c.id, points: c.points, verdict: c.verdict, advisory: Boolean(c.advisory) }));
      out.set(row.attempt_id, { exerciseVersion: row.exercise_version, error: row.error, checks });
    }
    return out;
  }

  /**
   * The current final grading's grade of each attempt given that has one (its score as it counts, its maximum, and
   * its error), by attempt id: one read per FINAL_SCORES_BATCH attempts, whatever the number. Attempts without a final
   * grading have no entry.
   */
  async finalScoresFor(attemptIds: readonly string[]): Promise<Map<string, FinalScore>> {
    const out = new Map<string, FinalScore>();
    for (let i = 0; i < attemptIds.length; i += FINAL_SCORES_BATCH) {
      const batch = attemptIds.slice(i, i + FINAL_SCORES_BATCH);
      const rows = await this.sql.all<{ attempt_id: string; score: number; max_score: number; error: string | null }>(
        `SELECT attempt_id, score, max_score, error FROM grading_runs WHERE id IN (${latestFinalIds(batch.length)})`,
        batch,
      );
      for (const r of rows) out.set(r.attempt_id, { score: r.score, maxScore: r.max_score, error: r.error });
    }
    return out;
  }

  /** When each check first passed, over every run of the attempt (epoch ms of the run's end). */
  async firstPasses(attemptId: string): Promise<Record<string, number>> {
    const first: Record<string, number> = {};
    for (const run of await this.list(attemptId)) {
      for (const r of run.results) if (r.verdict === 'pass' && first[r.id] === undefined) first[r.id] = run.finishedAt;
    }
    return first;
  }
}

async function finals(sql: Sql, attemptId: string): Promise<StoredRun[]> {
  return (await sql.all<Row>(`SELECT * FROM grading_runs WHERE attempt_id = ? AND kind = 'final' ORDER BY id`, [attemptId])).map(fromRow);
}

async function tally(sql: Sql, attemptId: string, kind: RunKind, results: StoredCheckResult[]) {
  return tallyGrade(results, kind === 'final' ? await new ConfirmationsRepo(sql).verdicts(attemptId) : {});
}

async function recount(tx: Sql, attemptId: string): Promise<void> {
  for (const run of await finals(tx, attemptId)) {
    const { score, maxScore } = await tally(tx, attemptId, 'final', run.results);
    if (score !== run.score || maxScore !== run.maxScore) {
      await tx.run('UPDATE grading_runs SET score = ?, max_score = ? WHERE id = ?', [score, maxScore, run.id]);
    }
  }
}
