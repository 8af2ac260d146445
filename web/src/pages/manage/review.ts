// The interviewer's review of one attempt (/manage/attempts/:id), built to be judged in ten minutes: the grade
// and the checks, the replay next to the commands, what changed, and the scorecard with the other reviews.
// Candidate data (commands, file names, diff, messages) only ever becomes text nodes.

import { ApiError, isAbort, type AttemptState } from '../../api.js';
import { h, type Scope } from '../../dom.js';
import { staffPage } from '../../manage/layout.js';
import type { PageContext } from '../../router.js';
import { confirmDialog } from '../../ui/dialog.js';
import { errorText } from '../../ui/errors.js';
import { formatMinutes, plural } from '../../ui/format.js';
import { setDocumentTitle, spinner } from '../../ui/layout.js';
import { reviewApi, type ReviewBundle, type ReviewCheck } from '../../review/api.js';
import { renderDiffView } from '../../review/diff-view.js';
import { renderGradings } from '../../review/gradings.js';
import { formatOffset } from '../../review/cast.js';
import { Replay } from '../../review/player.js';
import { renderOtherReviews, ScorecardForm } from '../../review/scorecard.js';
import { CommandTimelineView, formatDuration } from '../../review/timeline.js';
import '../../review/review.css';

const STATE_LABELS: Record<AttemptState, string> = {
  created: 'Not started',
  running: 'Running',
  submitted: 'Submitted',
  expired: 'Time ran out',
  archived: 'Ended',
  failed: 'Failed to start',
};

const VERDICTS: Record<ReviewCheck['verdict'], { label: string; icon: string }> = {
  pass: { label: 'Pass', icon: '✓' },
  fail: { label: 'Fail', icon: '✕' },
  // The grader broke: shown as such, never counted against the candidate.
  error: { label: 'Error (not counted)', icon: '!' },
};

function formatDateTime(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** Seconds from the attempt's start (the recording's clock) to `iso`, or null. */
function sinceStart(bundle: ReviewBundle, iso: string | null): number | null {
  if (!iso || !bundle.attempt.startedAt) return null;
  const t = (Date.parse(iso) - Date.parse(bundle.attempt.startedAt)) / 1000;
  return Number.isFinite(t) ? Math.max(0, t) : null;
}

function stateLabel(bundle: ReviewBundle): string {
  const { attempt } = bundle;
  if (attempt.state === 'archived' && attempt.endReason) {
    return { submitted: 'Submitted', expired: 'Time ran out', revoked: 'Revoked', preempted: 'Stopped for an interview' }[attempt.endReason];
  }
  if (attempt.endReason === 'revoked') return 'Revoked';
  return STATE_LABELS[attempt.state] ?? attempt.state;
}

export default async function page(ctx: PageContext): Promise<void> {
  const frame = await staffPage(ctx, 'Review', 'review');
  if (!frame) return;
  const { main } = frame;
  const { scope } = ctx;
  const id = ctx.params['id'] ?? '';
  main.classList.add('review-page');
  const loading = h('p', { class: 'muted', 'data-testid': 'review-loading' }, spinner(), 'Loading the attempt…');
  main.append(loading);

  let bundle: ReviewBundle;
  try {
    bundle = await reviewApi.getBundle(id, scope.signal);
  } catch (err) {
    if (isAbort(err) || scope.disposed) return;
    if (err instanceof ApiError && err.status === 401) {
      ctx.navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
      return;
    }
    loading.replaceWith(
      h(
        'div',
        {},
        h('h1', {}, 'Review'),
        h(
          'p',
          { class: 'message message-error', 'data-testid': 'review-error' },
          err instanceof ApiError && err.status === 404
            ? 'This attempt does not exist, or it was deleted.'
            : errorText(err, 'The attempt could not be loaded.'),
        ),
        h('a', { href: '/manage' }, 'Back to the attempts'),
      ),
    );
    return;
  }
  if (scope.disposed) return;
  // Just ended: the final grading and the snapshot of what changed are being made (the attempt stays submitted
  // or expired until they are). Show the page, and load it again once they are done.
  if (bundle.attempt.state === 'submitted' || bundle.attempt.state === 'expired') {
    const poll = scope.interval(() => {
      void reviewApi
        .getBundle(id, scope.signal)
        .then((next) => {
          const pending = document.querySelector('[data-testid="checks-pending"]');
          if (pending && !scope.disposed) pending.textContent = pendingText(next);
          if (next.attempt.state === 'submitted' || next.attempt.state === 'expired' || scope.disposed) return;
          poll();
          ctx.navigate(location.pathname, { replace: true });
        })
        .catch(() => undefined);
    }, 2000);
  }
  const who = bundle.candidate?.name ?? (bundle.attempt.mode === 'practice' ? 'Practice attempt' : 'Candidate');
  setDocumentTitle(`${who} · ${bundle.exercise.title}`);

  // The replay and the timeline talk to each other: a click on a command seeks, the replay's time marks a row.
  let timeline: CommandTimelineView | null = null;
  const replay = Replay.load(
    { url: reviewApi.recordingUrl(id) },
    { scope, onTime: (t) => timeline?.setTime(t) },
  );
  const seek = (seconds: number): void => void replay.seek(seconds);

  const timelineHost = h('div', { class: 'review-timeline-host' }, h('p', { class: 'muted' }, 'Loading the commands…'));
  const diffHost = h('div', { class: 'review-diff-host' }, h('p', { class: 'muted' }, 'Loading the changes…'));

  loading.replaceWith(
    renderHeader(bundle, id),
    section('review-checks', 'Checks', renderChecks(bundle, seek, scope)),
    section('review-gradings', 'Gradings', renderGradings(bundle, id, scope, () => ctx.navigate(location.pathname, { replace: true }))),
    section(
      'review-replay',
      'Replay',
      h(
        'div',
        { class: 'review-replay-grid' },
        replay.element,
        h('div', { class: 'review-timeline-pane' }, h('h3', { class: 'review-subheading' }, 'Commands'), timelineHost),
      ),
    ),
    section('review-diff', 'What changed', diffHost),
    section('review-scorecard', 'Scorecard', renderScorecard(bundle, id, scope)),
    section('review-data', 'Delete', renderDelete(bundle, id, who, ctx)),
  );

  const [commands, diff] = await Promise.allSettled([
    reviewApi.getCommands(id, scope.signal),
    reviewApi.getDiff(id, scope.signal),
  ]);
  if (scope.disposed) return;
  if (commands.status === 'fulfilled') {
    timeline = new CommandTimelineView(commands.value, { scope, onSeek: seek });
    timelineHost.replaceChildren(timeline.element);
    timeline.setTime(replay.currentTime());
  } else {
    timelineHost.replaceChildren(
      h('p', { class: 'message message-error', 'data-testid': 'timeline-error' }, errorText(commands.reason, 'The commands could not be loaded.')),
    );
  }
  if (diff.status === 'fulfilled') {
    diffHost.replaceChildren(
      diff.value
        ? renderDiffView(diff.value, scope)
        : h(
            'p',
            { class: 'muted', 'data-testid': 'diff-pending' },
            bundle.attempt.state === 'running' || bundle.attempt.state === 'created'
              ? 'What changed is recorded when the attempt ends.'
              : 'There is no record of what changed for this attempt.',
          ),
    );
  } else {
    diffHost.replaceChildren(
      h('p', { class: 'message message-error', 'data-testid': 'diff-error' }, errorText(diff.reason, 'The changes could not be loaded.')),
    );
  }
}

function section(id: string, title: string, ...body: HTMLElement[]): HTMLElement {
  return h(
    'section',
    { class: 'review-section', 'aria-labelledby': `${id}-heading`, 'data-testid': id },
    h('h2', { class: 'review-heading', id: `${id}-heading` }, title),
    ...body,
  );
}

/** What the review says while an attempt has no final grading yet: when it ended, where its grading stands in the queue. */
function pendingText(bundle: ReviewBundle): string {
  const { attempt } = bundle;
  if (attempt.state === 'running') return 'The checks run when the attempt ends.';
  if (attempt.state !== 'submitted' && attempt.state !== 'expired') return 'This attempt was not graded.';
  const where =
    attempt.grading?.state === 'queued'
      ? `its grading is queued (${attempt.grading.ahead} ahead)`
      : 'it is being graded';
  return `The attempt just ended: ${where}. This page updates when the grade is in.`;
}

function renderHeader(bundle: ReviewBundle, id: string): HTMLElement {
  const { attempt, grading } = bundle;
  const who = bundle.candidate?.name ?? (attempt.mode === 'practice' ? 'Practice attempt' : 'Candidate');
  const running = attempt.state === 'running';
  const endMs = attempt.endedAt ? Date.parse(attempt.endedAt) : running ? Date.parse(attempt.serverTime) : NaN;
  const durationMs = attempt.startedAt ? endMs - Date.parse(attempt.startedAt) : NaN;

  const meta = h('dl', { class: 'review-meta', 'data-testid': 'review-meta' });
  const item = (label: string, value: string | Node, testId: string): void => {
    meta.append(h('div', { class: 'review-meta-item' }, h('dt', {}, label), h('dd', { 'data-testid': testId }, value)));
  };
  item('State', h('span', { class: 'state-badge', 'data-state': attempt.state }, stateLabel(bundle)), 'review-state');
  item('Started', formatDateTime(attempt.startedAt), 'review-started');
  item('Ended', running ? 'still running' : formatDateTime(attempt.endedAt), 'review-ended');
  item('Duration', Number.isFinite(durationMs) ? formatOffset(durationMs / 1000) : '—', 'review-duration');
  item('Time limit', formatMinutes(bundle.timeLimitSeconds / 60), 'review-time-limit');
  item('Hints revealed', String(bundle.hintsRevealed), 'review-hints');
  item('Progress checks', String(bundle.checkRuns.length), 'review-check-runs');

  const score = grading
    ? h(
        'div',
        { class: 'review-score', 'data-testid': 'review-score' },
        h('span', { class: 'review-score-value' }, `${grading.score}/${grading.maxScore}`),
        h('span', { class: 'review-score-label muted' }, 'points'),
      )
    : h(
        'div',
        { class: 'review-score review-score-none', 'data-testid': 'review-score' },
        h('span', { class: 'review-score-label muted' }, running ? 'Graded when it ends' : 'Not graded'),
      );

  const links = h(
    'nav',
    { class: 'review-links', 'aria-label': 'Downloads' },
    running
      ? h('a', { href: `/manage/attempts/${encodeURIComponent(id)}/live`, class: 'button button-primary button-small', 'data-testid': 'review-live' }, 'Watch live')
      : null,
    h('a', { href: reviewApi.recordingUrl(id), class: 'button button-small', download: `${id}.cast`, 'data-testid': 'review-download-recording' }, 'Download recording'),
    h('a', { href: reviewApi.exportHtmlUrl(id), class: 'button button-small', download: `${id}.html`, 'data-testid': 'review-export-html' }, 'Export HTML'),
    h('a', { href: reviewApi.exportJsonUrl(id), class: 'button button-small', download: `${id}.json`, 'data-testid': 'review-export-json' }, 'Export JSON'),
  );

  return h(
    'header',
    { class: 'review-header', 'data-testid': 'review-header' },
    h(
      'div',
      { class: 'review-title-block' },
      h('p', { class: 'review-back' }, h('a', { href: '/manage' }, '← Attempts')),
      h('h1', { class: 'review-title', 'data-testid': 'review-candidate' }, who),
      h(
        'p',
        { class: 'review-exercise' },
        h('span', { 'data-testid': 'review-exercise' }, bundle.exercise.title),
        ' ',
        h('span', { class: `badge badge-${bundle.exercise.difficulty}` }, bundle.exercise.difficulty),
        bundle.candidate ? h('span', { class: 'muted' }, ` · ${bundle.candidate.email}`) : null,
      ),
      bundle.invite?.note ? h('p', { class: 'review-note muted', 'data-testid': 'review-invite-note' }, `Note: ${bundle.invite.note}`) : null,
      meta,
      links,
    ),
    score,
  );
}

function renderChecks(bundle: ReviewBundle, seek: (seconds: number) => void, scope: Scope): HTMLElement {
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
  box.append(
    h(
      'p',
      { class: 'review-check-summary', 'data-testid': 'checks-summary' },
      `${counts.pass} passed, ${counts.fail} failed`,
      counts.error > 0 ? `, ${counts.error} could not be checked (not counted)` : '',
      '.',
    ),
  );

  const list = h('ul', { class: 'check-list review-check-list', 'aria-label': 'Checks', 'data-testid': 'review-check-list' });
  for (const check of grading.checks) {
    const verdict = VERDICTS[check.verdict];
    const earned = check.verdict === 'pass' ? check.points : 0;
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
        { class: 'check-row', 'data-verdict': check.verdict, 'data-testid': `review-check-${check.id}` },
        h('span', { class: 'check-icon', 'aria-hidden': 'true' }, verdict.icon),
        h(
          'div',
          { class: 'check-main' },
          h('span', { class: 'check-title' }, check.title),
          h('span', { class: 'check-verdict', 'data-testid': 'check-verdict' }, verdict.label),
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

function renderScorecard(bundle: ReviewBundle, id: string, scope: Scope): HTMLElement {
  const form = new ScorecardForm({
    attemptId: id,
    dimensions: bundle.scorecard,
    mine: bundle.reviews.find((r) => r.mine) ?? null,
    scope,
  });
  const others = renderOtherReviews(bundle.reviews, bundle.scorecard);
  const count = bundle.reviews.filter((r) => !r.mine).length;
  others.setAttribute('aria-label', `Other interviewers: ${plural(count, 'review')}`);
  return h('div', { class: 'review-scorecard-grid' }, form.element, others);
}

/** Deleting on request: the attempt and everything kept of it go; the audit log keeps that it happened. */
function renderDelete(bundle: ReviewBundle, id: string, who: string, ctx: PageContext): HTMLElement {
  const status = h('p', { class: 'status-area', role: 'alert', 'data-testid': 'delete-status' });
  const button = h('button', { type: 'button', class: 'button button-danger', 'data-testid': 'delete-attempt' }, 'Delete this attempt');
  ctx.scope.listen(button, 'click', () => {
    void (async () => {
      const ok = await confirmDialog({
        title: `Delete ${who}'s attempt?`,
        body:
          'The recording, the snapshots, the grading, every review' +
          (bundle.candidate ? " and the candidate's name and email" : '') +
          (bundle.attempt.state === 'running' ? ' are deleted, and the running attempt is stopped now.' : ' are deleted.') +
          ' This cannot be undone.',
        confirmLabel: 'Delete',
        signal: ctx.scope.signal,
      });
      if (!ok) return;
      button.disabled = true;
      status.replaceChildren();
      try {
        await reviewApi.deleteAttempt(id, ctx.scope.signal);
        ctx.navigate('/manage', { replace: true });
      } catch (err) {
        if (isAbort(err) || ctx.scope.disposed) return;
        button.disabled = false;
        status.append(h('span', { class: 'message message-error' }, errorText(err, 'The attempt could not be deleted.')));
      }
    })();
  });
  return h(
    'div',
    { class: 'review-delete' },
    h(
      'p',
      { class: 'muted' },
      "Delete on the candidate's request, or when the attempt should not be kept. Attempts are also deleted " +
        'automatically after the retention period the operator set.',
    ),
    button,
    status,
  );
}
