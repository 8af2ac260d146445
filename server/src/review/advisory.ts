import type { Auth } from '../auth/index.js';
import { errors } from '../errors.js';
import type { AttemptsRepo } from '../store/attempts-repo.js';
import type { StoredConfirmation } from '../store/confirmations-repo.js';
import type { GradingRepo, StoredRun } from '../store/grading-repo.js';
import type { CheckConfirmation, ConfirmationInput, Confirmations } from '../../../contract/index.js';

export interface AdvisoryDeps {
  attemptsRepo: AttemptsRepo;
  grading: GradingRepo;
  auth: Auth;
}

/**
 * Reviewers' decisions on advisory checks: confirming the grader's preliminary verdict or overriding it (with a
 * comment), and withdrawing that again. A decision is kept per attempt and check, across regrades; every change
 * goes to the audit log, and the attempt's final gradings are counted again with it (GradingRepo.confirm).
 */
export class AdvisoryChecks {
  constructor(private readonly deps: AdvisoryDeps) {}

  /** The current final grading's advisory check `checkId`, or the reason there is none to decide on. */
  private async target(attemptId: string, checkId: string): Promise<{ run: StoredRun; verdict: StoredRun['results'][number]['verdict']; inviteId: string | null }> {
    const attempt = await this.deps.attemptsRepo.get(attemptId);
    if (!attempt) throw errors.attemptNotFound();
    const run = await this.deps.grading.final(attemptId);
    if (!run) throw errors.notGraded(`it is ${attempt.state} and has no final grading yet.`);
    if (run.error && run.results.length === 0) throw errors.notGraded(`its current grading did not finish (${run.error}).`);
    const check = run.results.find((r) => r.id === checkId);
    if (!check) throw errors.checkNotFound(checkId);
    if (!check.advisory) throw errors.notAdvisory(checkId);
    return { run, verdict: check.verdict, inviteId: attempt.inviteId };
  }

  async confirm(attemptId: string, checkId: string, input: ConfirmationInput, userId: string): Promise<void> {
    const { run, verdict: graderVerdict, inviteId } = await this.target(attemptId, checkId);
    const previous = await this.deps.grading.confirmations.get(attemptId, checkId);
    const comment = (input.comment ?? '').trim();
    await this.deps.grading.confirm({
      attemptId,
      checkId,
      verdict: input.verdict,
      comment,
      graderVerdict,
      gradingRunId: run.id,
      confirmedBy: userId,
      confirmedAt: Date.now(),
    });
    await this.deps.auth.audit({
      userId,
      action: previous ? 'check.confirmation.change' : 'check.confirm',
      attemptId,
      inviteId,
      detail: {
        checkId,
        verdict: input.verdict,
        graderVerdict,
        override: input.verdict !== graderVerdict,
        comment,
        ...(previous ? { previous: { verdict: previous.verdict, comment: previous.comment, by: previous.confirmedBy } } : {}),
      },
    });
  }

  /** Withdraws the decision on a check: its points are pending again. Answers whether there was one. */
  async withdraw(attemptId: string, checkId: string, userId: string): Promise<boolean> {
    const { inviteId } = await this.target(attemptId, checkId);
    const was = await this.deps.grading.withdraw(attemptId, checkId);
    if (!was) return false;
    await this.deps.auth.audit({
      userId,
      action: 'check.confirmation.withdraw',
      attemptId,
      inviteId,
      detail: { checkId, verdict: was.verdict, comment: was.comment, by: was.confirmedBy },
    });
    return true;
  }

  /** The verdicts that count, by check id (for tallyGrade). */
  verdicts(attemptId: string): Promise<Confirmations> {
    return this.deps.grading.confirmations.verdicts(attemptId);
  }

  /** The decisions as the review shows them next to a grading's checks, by check id. */
  async views(attemptId: string, run: StoredRun): Promise<Record<string, CheckConfirmation>> {
    const now = new Map(run.results.map((r) => [r.id, r.verdict]));
    const out: Record<string, CheckConfirmation> = {};
    const confirmations = await this.deps.grading.confirmations.list(attemptId);
    const names = await this.deps.auth.userNames(confirmations.map((c) => c.confirmedBy));
    for (const c of confirmations) out[c.checkId] = this.view(c, now.get(c.checkId), names.get(c.confirmedBy));
    return out;
  }

  private view(
    c: StoredConfirmation,
    current: StoredRun['results'][number]['verdict'] | undefined,
    name: string | undefined,
  ): CheckConfirmation {
    return {
      verdict: c.verdict,
      comment: c.comment,
      by: { id: c.confirmedBy, name: name ?? 'unknown' },
      at: new Date(c.confirmedAt).toISOString(),
      graderVerdict: c.graderVerdict,
      graderChanged: current !== undefined && current !== c.graderVerdict,
    };
  }
}
