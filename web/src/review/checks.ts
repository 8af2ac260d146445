// The checks of an attempt's current grading on the review page: each verdict, its points as they count, when it
// first passed (a click seeks the replay), the interviewer's details, advisory checks with their decision form,
// and the progress checks the candidate ran.

import { h, type Scope } from '../dom.js';
import { renderAdvisory } from './advisory.js';
import { countedVerdict, type GradeAnswer, type ReviewBundle, type ReviewCheck } from './api.js';
import { formatOffset } from './cast.js';
import { formatDuration } from './timeline.js';

const VERDICTS: Record<ReviewCheck['verdict'], { label: string; icon: string }> = {
  pass: { label: 'Pass', icon: '✓' },
  fail: { label: 'Fail', icon: '✕' },
  // The grader broke: shown as such, never counted against the candidate.
  error: { label: 'Error (not counted)', icon: '!' },
};

/** Seconds from the attempt's start (the recording's clock) to `iso`, or null. */
function sinceStart(bundle: ReviewBundle, iso: string | null): number | null {
  if (!iso || !bundle.attempt.startedAt) return null;
  const t = (Date.parse(iso) - Date.parse(bundle.attempt.startedAt)) / 1000;
  return Number.isFinite(t) ? Math.max(0, t) : null;
}

/** What the review says while an attempt has no final grading yet: when it ended, where its grading stands in the queue. */
export function pendingText(bundle: ReviewBundle): string {
  const { attempt } = bundle;
  if (attempt.state === 'running') return 'The checks run when the attempt ends.';
  if (attempt.state !== 'submitted' && attempt.state !== 'expired') return 'This attempt was not graded.';
  const where =
    attempt.grading?.state === 'queued'
      ? `its grading is queued (${attempt.grading.ahead} ahead)`
      : 'it is being graded';
  return `The attempt just ended: ${where}. This page updates when the grade is in.`;
}

export function renderChecks(
  bundle: ReviewBundle,
  seek: (seconds: number) => void,
  scope: Scope,
  onGrading: (answer: GradeAnswer) => void,
): HTMLElement {
  const { grading } = bundle;
  const box = h('div', { class: 'review-checks' });
  if (!grading) {
    box.append(
      h(
        'p',
        { class: 'muted', 'data-testid': 'checks-pending' },
        pendingText(bundle),
      ),
    );
    return box;
  }
  if (grading.error) {
    box.append(h('p', { class: 'message message-error', 'data-testid': 'grading-error' }, `The grading did not finish: ${grading.error}`));
  }
  const counts = { pass: 0, fail: 0, error: 0 };
  for (const check of grading.checks) counts[check.verdict]++;
  const awaiting = grading.checks.filter((c) => c.advisory && !c.confirmation).length;
  box.append(
    h(
      'p',
      { class: 'review-check-summary', 'data-testid': 'checks-summary' },
      `${counts.pass} passed, ${counts.fail} failed`,
      counts.error > 0 ? `, ${counts.error} could not be checked (not counted)` : '',
      '.',
      awaiting > 0 ? ` ${awaiting} advisory ${awaiting === 1 ? 'check awaits' : 'checks await'} a reviewer's decision.` : '',
    ),
  );

  const list = h('ul', { class: 'check-list review-check-list', 'aria-label': 'Checks', 'data-testid': 'review-check-list' });
  for (const check of grading.checks) {
    const verdict = VERDICTS[check.verdict];
    const counted = countedVerdict(check, check.confirmation?.verdict);
    const earned = counted === 'pending' ? '–' : counted === 'pass' ? check.points : 0;
    const passedAt = sinceStart(bundle, check.firstPassedAt);
    let firstPassed: HTMLElement | null = null;
    const endedAt = bundle.attempt.endedAt ? Date.parse(bundle.attempt.endedAt) : null;
    if (passedAt !== null && endedAt !== null && check.firstPassedAt && Date.parse(check.firstPassedAt) > endedAt) {
      // Never passed in a progress check during the attempt: the first pass is the final grading's.
      firstPassed = h('span', { class: 'muted', 'data-testid': 'check-passed-final' }, 'passed at the final grading');
    } else if (passedAt !== null) {
      const button = h('button', { type: 'button', class: 'link-button', 'data-testid': 'check-first-passed' }, `first passed at ${formatOffset(passedAt)}`);
      button.setAttribute('aria-label', `First passed ${formatOffset(passedAt)} after the start: show in the replay`);
      scope.listen(button, 'click', () => seek(passedAt));
      firstPassed = button;
    }
    list.append(
      h(
        'li',
        { class: 'check-row', 'data-verdict': check.verdict, 'data-advisory': check.advisory ? 'true' : null, 'data-testid': `review-check-${check.id}` },
        h('span', { class: 'check-icon', 'aria-hidden': 'true' }, verdict.icon),
        h(
          'div',
          { class: 'check-main' },
          h('span', { class: 'check-title' }, check.title),
          h('span', { class: 'check-verdict', 'data-testid': 'check-verdict' }, check.advisory ? `Grader: ${verdict.label}` : verdict.label),
          check.advisory
            ? h(
                'span',
                { class: 'check-hidden-tag check-advisory-tag', 'data-testid': 'check-advisory' },
                check.confirmation ? `advisory: counts as ${check.confirmation.verdict}` : 'advisory: not counted until confirmed',
              )
            : null,
          check.visible ? null : h('span', { class: 'check-hidden-tag', title: 'The candidate never sees this message' }, 'message hidden from candidate'),
          firstPassed,
          check.message ? h('p', { class: 'check-message', 'data-testid': 'check-message' }, check.message) : null,
          check.details
            ? h(
                'details',
                { class: 'check-details' },
                h('summary', {}, 'Details'),
                h('pre', { class: 'check-details-text', 'data-testid': 'check-details' }, check.details),
              )
            : null,
          check.advisory ? renderAdvisory(check, bundle.attempt.id, scope, onGrading) : null,
        ),
        h('span', { class: 'check-points', title: `ran in ${formatDuration(check.durationMs)}` }, `${earned}/${check.points} pts`),
      ),
    );
  }
  box.append(list);

  if (bundle.checkRuns.length > 0) {
    const runs = h('ol', { class: 'review-runs', 'aria-label': 'Progress checks the candidate ran', 'data-testid': 'check-runs' });
    for (const run of bundle.checkRuns) {
      const at = sinceStart(bundle, run.finishedAt);
      const label = `${run.score}/${run.maxScore}${at === null ? '' : ` at ${formatOffset(at)}`}`;
      if (at === null) {
        runs.append(h('li', {}, label));
        continue;
      }
      const button = h('button', { type: 'button', class: 'link-button' }, label);
      scope.listen(button, 'click', () => seek(at));
      runs.append(h('li', {}, button));
    }
    box.append(h('div', { class: 'review-runs-row' }, h('span', { class: 'muted' }, 'The candidate checked their progress: '), runs));
  }
  return box;
}
