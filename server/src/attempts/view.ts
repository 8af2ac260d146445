import type { ExerciseCatalog } from '../exercises/catalog.js';
import type { AttemptView, CandidateCheckRun } from '../../../contract/attempts.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { StoredRun } from '../store/grading-repo.js';
import { tallyGrade } from '../../../contract/grade.js';

/** The API's shapes (contract/attempts.ts): an attempt, and a grading run as its candidate sees it. */
export type { AttemptView };
export type CandidateResults = CandidateCheckRun;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function attemptView(attempt: Attempt, catalog: Pick<ExerciseCatalog, 'forAttempt'>): AttemptView {
  const exercise = catalog.forAttempt(attempt);
  return {
    id: attempt.id,
    exerciseId: attempt.exerciseId,
    state: attempt.state,
    createdAt: iso(attempt.createdAt)!,
    startedAt: iso(attempt.startedAt),
    deadline: iso(attempt.deadline),
    endedAt: iso(attempt.endedAt),
    endReason: attempt.endReason,
    sandbox: attempt.sandboxStatus,
    serverTime: new Date().toISOString(),
    mode: attempt.mode,
    checksAllowed: attempt.feedback && (exercise?.checks.length ?? 0) > 0,
    hintsAllowed: attempt.feedback && (exercise?.hints.length ?? 0) > 0,
  };
}

/**
 * What the attempt's own holder sees of a run: practice shows every check's message, interviews the visible ones.
 * Advisory checks are marked as such, their points pending (a reviewer's decision is not shown here).
 */
export function candidateResults(run: StoredRun, attempt: Attempt): CandidateResults {
  // The grader's verdicts only: what a reviewer decided on advisory checks is for the staff.
  const { score, maxScore, pendingPoints } = tallyGrade(run.results);
  return {
    kind: run.kind,
    finishedAt: new Date(run.finishedAt).toISOString(),
    score,
    maxScore,
    pendingPoints,
    error: run.error,
    checks: run.results.map((r) => ({
      id: r.id,
      title: r.title,
      points: r.points,
      advisory: r.advisory,
      verdict: r.verdict,
      message: r.visible || attempt.mode === 'practice' ? r.message : null,
    })),
  };
}
