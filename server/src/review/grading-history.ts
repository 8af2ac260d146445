import type { StoredRun } from '../store/grading-repo.js';
import { tallyGrade, type CheckVerdict, type Confirmations, type GradingHistoryEntry } from '../../../contract/index.js';

/**
 * The final gradings of an attempt as the review shows them, oldest first: the last is the current one, and
 * each says which checks changed verdict since the one before it (a fixed check, a newer exercise version). Each
 * is counted with the reviewers' confirmations of advisory checks, which hold for every grading of the attempt.
 */
export function gradingHistory(
  finals: StoredRun[],
  confirmations: Confirmations,
  userName: (id: string) => string | undefined,
): GradingHistoryEntry[] {
  return finals.map((run, i) => {
    const tally = tallyGrade(run.results, confirmations);
    const before = i > 0 ? finals[i - 1]! : null;
    const changes: GradingHistoryEntry['changes'] = [];
    if (before) {
      const was = new Map<string, CheckVerdict>(before.results.map((r) => [r.id, r.verdict]));
      const now = new Map<string, CheckVerdict>(run.results.map((r) => [r.id, r.verdict]));
      const titles = new Map([...before.results, ...run.results].map((r) => [r.id, r.title]));
      for (const id of new Set([...was.keys(), ...now.keys()])) {
        const from = was.get(id) ?? null;
        const to = now.get(id) ?? null;
        if (from !== to) changes.push({ id, title: titles.get(id) ?? id, from, to });
      }
    }
    return {
      id: run.id,
      finishedAt: new Date(run.finishedAt).toISOString(),
      score: tally.score,
      maxScore: tally.maxScore,
      pendingPoints: tally.pendingPoints,
      error: run.error,
      exerciseVersion: run.exerciseVersion ?? null,
      source: run.source ?? null,
      requestedBy: run.requestedBy ? { id: run.requestedBy, name: userName(run.requestedBy) ?? 'unknown' } : null,
      current: i === finals.length - 1,
      changes,
    };
  });
}
