// The attempts dashboard as a spreadsheet: every attempt of a filter, one row each, with its grade as it counts,
// each check's verdict and each reviewer's weighted score and recommendation (docs/api.md, "Attempts as CSV").

import type { Auth } from '../auth/index.js';
import { errors } from '../errors.js';
import type { ExerciseCatalog } from '../exercises/catalog.js';
import type { FinalVerdicts, GradingRepo } from '../store/grading-repo.js';
import type { AttemptListRow, AttemptQuery, ReviewsRepo, StoredReview } from '../store/reviews-repo.js';
import { countedVerdict, gradePercent, tallyGrade, weightedScore, type Confirmations } from '../../../contract/index.js';
import { shortVersion } from '../../../contract/invites.js';
import { CSV_BOM, csvRow, type CsvCell } from './csv.js';

/** Most attempts one export holds; a filter matching more is refused with a clear error (narrow it). */
export const CSV_EXPORT_LIMITS = { rows: 5000 } as const;

/** Attempts read at once (their gradings, confirmations and reviews: a read each), between two turns of the event loop. */
const BATCH = 100;

/** The list's filter and sort; an export has no pages. */
export type AttemptExportFilter = Omit<AttemptQuery, 'page' | 'pageSize'>;

export interface AttemptsCsvDeps {
  grading: GradingRepo;
  reviews: ReviewsRepo;
  catalog: ExerciseCatalog;
  auth: Auth;
  /** The server's public address: the review links point there. */
  publicUrl: string;
}

export interface AttemptsCsvFile {
  filename: string;
  /** Attempts in the file (rows after the header). */
  rows: number;
  /** The file, a record at a time (the first with a byte-order mark). */
  chunks: Iterable<string>;
}

/** What a check cell says: the verdict that counts, `advisory-pending` while a reviewer has not decided. */
type CheckCell = 'pass' | 'fail' | 'error' | 'advisory-pending';

interface ReviewerScore {
  weightedScore: number | null;
  recommendation: string | null;
}

/** What a row shows besides the list's row: read for a batch of rows at once. */
interface RowReads {
  final: FinalVerdicts | undefined;
  confirmed: Confirmations;
  reviews: readonly StoredReview[];
}

/** One attempt's row, reduced to what the file shows. */
interface ExportRow {
  fixed: CsvCell[];
  exerciseId: string;
  checks: Map<string, CheckCell>;
  reviewers: Map<string, ReviewerScore>;
  link: string;
}

const FIXED_HEADER = [
  'attempt id',
  'candidate name',
  'candidate email',
  'interviewer',
  'mode',
  'exercise id',
  'exercise title',
  'exercise version',
  'exercise version taken',
  'state',
  'end reason',
  'created at',
  'started at',
  'ended at',
  'score',
  'max score',
  'score percent',
  'points pending review',
  'grading error',
  'reviews',
];

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const checkKey = (exerciseId: string, checkId: string) => `${exerciseId}/${checkId}`;

/**
 * Builds the CSV export of the attempts dashboard. The rows are read first (the columns come from them, so the
 * two agree), kept only as the cells they become, and written out a record at a time.
 */
export class AttemptsCsv {
  constructor(private readonly deps: AttemptsCsvDeps) {}

  /** The file for a filter, audited as `attempts.export` for `userId`. Refuses a filter past the row limit. */
  async export(filter: AttemptExportFilter, userId: string): Promise<AttemptsCsvFile> {
    const rows = await this.collect(filter);
    const checkColumns = this.checkColumns(rows);
    const reviewerColumns = await this.reviewerColumns(rows);
    const header = [
      ...FIXED_HEADER,
      ...checkColumns.map((key) => `check ${key}`),
      ...reviewerColumns.flatMap((r) => [`reviewer ${r.label}: weighted score`, `reviewer ${r.label}: recommendation`]),
      'review link',
    ];
    await this.deps.auth.audit({
      userId,
      action: 'attempts.export',
      detail: { format: 'csv', filter: definedOnly(filter), rows: rows.length },
    });
    function* chunks(): Generator<string> {
      yield CSV_BOM + csvRow(header);
      for (const row of rows) {
        yield csvRow([
          ...row.fixed,
          ...checkColumns.map((key) => row.checks.get(key) ?? null),
          ...reviewerColumns.flatMap((r) => {
            const score = row.reviewers.get(r.id);
            return [score?.weightedScore ?? null, score?.recommendation ?? null];
          }),
          row.link,
        ]);
      }
    }
    return { filename: `opslab-attempts-${stamp(new Date())}.csv`, rows: rows.length, chunks: chunks() };
  }

  /**
   * The rows, read a batch at a time with the event loop let go in between: at the limit, with large gradings, the
   * reading takes over a second, which terminals and other requests must not wait for in one piece.
   */
  private async collect(filter: AttemptExportFilter): Promise<ExportRow[]> {
    const { reviews, grading } = this.deps;
    const max = CSV_EXPORT_LIMITS.rows;
    const { rows, total } = await reviews.listAttempts({ ...filter, page: 1, pageSize: max });
    if (total > max) {
      throw errors.badRequest(`The filter matches ${total} attempts; an export holds at most ${max}. Narrow the filter and export again.`);
    }
    const interviewers = await this.deps.auth.userNames(rows.flatMap((r) => (r.interviewerId ? [r.interviewerId] : [])));
    const out: ExportRow[] = [];
    for (let start = 0; start < rows.length; start += BATCH) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      const batch = rows.slice(start, start + BATCH);
      const ids = batch.map((r) => r.id);
      const finals = await grading.finalVerdictsFor(ids);
      const confirmations = await grading.confirmations.verdictsFor(ids);
      const reviewed = await reviews.listFor(ids);
      for (const r of batch) {
        out.push(this.row(r, interviewers, { final: finals.get(r.id), confirmed: confirmations.get(r.id) ?? {}, reviews: reviewed.get(r.id) ?? [] }));
      }
    }
    return out;
  }

  private row(r: AttemptListRow, interviewers: ReadonlyMap<string, string>, { final, confirmed, reviews }: RowReads): ExportRow {
    const { catalog, publicUrl } = this.deps;
    const tally = final ? tallyGrade(final.checks, confirmed) : null;
    const checks = new Map<string, CheckCell>();
    for (const c of final?.checks ?? []) {
      const verdict = countedVerdict(c, confirmed[c.id]);
      checks.set(checkKey(r.exerciseId, c.id), verdict === 'pending' ? 'advisory-pending' : verdict);
    }
    const byReviewer = new Map<string, ReviewerScore>();
    for (const review of reviews) {
      byReviewer.set(review.reviewerId, { weightedScore: weightedScore(review.ratings), recommendation: review.recommendation });
    }
    return {
      fixed: [
        r.id,
        r.candidateName,
        r.candidateEmail,
        r.interviewerId ? (interviewers.get(r.interviewerId) ?? 'unknown') : null,
        r.mode,
        r.exerciseId,
        catalog.get(r.exerciseId)?.title ?? r.exerciseId,
        final?.exerciseVersion ? shortVersion(final.exerciseVersion) : null,
        r.exerciseVersion ? shortVersion(r.exerciseVersion) : null,
        r.state,
        r.endReason,
        iso(r.createdAt),
        iso(r.startedAt),
        iso(r.endedAt),
        tally?.score,
        tally?.maxScore,
        tally ? gradePercent(tally.score, tally.maxScore) : null,
        tally?.pendingPoints,
        final?.error ?? null,
        byReviewer.size,
      ],
      exerciseId: r.exerciseId,
      checks,
      reviewers: byReviewer,
      link: `${publicUrl}/manage/attempts/${encodeURIComponent(r.id)}`,
    };
  }

  /**
   * One column per check of the exported exercises: by exercise id, each exercise's checks in its current order,
   * then checks only older gradings had (a check since removed), in the order they were graded.
   */
  private checkColumns(rows: readonly ExportRow[]): string[] {
    const exerciseIds = [...new Set(rows.map((r) => r.exerciseId))].sort();
    const columns: string[] = [];
    for (const exerciseId of exerciseIds) {
      const known = (this.deps.catalog.get(exerciseId)?.checks ?? []).map((c) => checkKey(exerciseId, c.id));
      const graded = rows.filter((r) => r.exerciseId === exerciseId).flatMap((r) => [...r.checks.keys()]);
      columns.push(...new Set([...known, ...graded]));
    }
    return columns;
  }

  /** Two columns per reviewer of any exported attempt, by name; a name two reviewers share gets their id. */
  private async reviewerColumns(rows: readonly ExportRow[]): Promise<{ id: string; label: string }[]> {
    const ids = [...new Set(rows.flatMap((r) => [...r.reviewers.keys()]))];
    const names = await this.deps.auth.userNames(ids);
    const named = ids.map((id) => ({ id, name: names.get(id) ?? 'unknown' }));
    const count = new Map<string, number>();
    for (const r of named) count.set(r.name, (count.get(r.name) ?? 0) + 1);
    return named
      .map((r) => ({ id: r.id, label: count.get(r.name)! > 1 ? `${r.name} (${r.id})` : r.name }))
      .sort((a, b) => a.label.localeCompare(b.label) || a.id.localeCompare(b.id));
  }
}

function definedOnly(filter: AttemptExportFilter): Record<string, unknown> {
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
}

/** 20261206-045812Z: a file name that sorts by time. */
function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\.\d+Z$/, 'Z');
}
