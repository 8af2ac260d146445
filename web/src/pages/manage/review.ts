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
import type { FileSavedEvent } from '../../../../contract/files.js';
import { reviewApi, type GradeAnswer, type ReviewBundle } from '../../review/api.js';
import { pendingText, renderChecks } from '../../review/checks.js';
import { renderDiffView } from '../../review/diff-view.js';
import { renderGradings } from '../../review/gradings.js';
import { exerciseVersionText } from '../../../../contract/review.js';
import { formatOffset } from '../../review/cast.js';
import { TerminalReplays } from '../../review/terminal-replays.js';
import { renderOtherReviews, ScorecardForm } from '../../review/scorecard.js';
import { CommandTimelineView, type FileSaveRow } from '../../review/timeline.js';
import { renderSignalSummary, signalFacts } from '../../review/signals.js';
import '../../review/review.css';

const STATE_LABELS: Record<AttemptState, string> = {
  created: 'Not started',
  running: 'Running',
  submitted: 'Submitted',
  expired: 'Time ran out',
  archived: 'Ended',
  failed: 'Failed to start',
};

function formatDateTime(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
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
  const replay = new TerminalReplays({ scope, url: (n) => reviewApi.recordingUrl(id, n), onTime: (t) => timeline?.setTime(t) });
  const seek = (seconds: number, terminal?: number): void => void replay.seek(seconds, terminal);

  const timelineHost = h('div', { class: 'review-timeline-host' }, h('p', { class: 'muted' }, 'Loading the commands…'));
  const diffHost = h('div', { class: 'review-diff-host' }, h('p', { class: 'muted' }, 'Loading the changes…'));

  // A decision on an advisory check changes the grade: the header, the checks and the history are drawn again.
  const reload = (): void => ctx.navigate(location.pathname, { replace: true });
  const drawGradings = (): HTMLElement => section('review-gradings', 'Gradings', renderGradings(bundle, id, scope, reload));
  const drawChecks = (): HTMLElement => section('review-checks', 'Checks', renderChecks(bundle, seek, scope, redraw));
  let drawn = { header: renderHeader(bundle, id), checks: drawChecks(), gradings: drawGradings() };
  function redraw(answer: GradeAnswer): void {
    bundle = { ...bundle, ...answer };
    const next = { header: renderHeader(bundle, id), checks: drawChecks(), gradings: drawGradings() };
    drawn.header.replaceWith(next.header);
    drawn.checks.replaceWith(next.checks);
    drawn.gradings.replaceWith(next.gradings);
    drawn = next;
  }
  loading.replaceWith(
    drawn.header,
    drawn.checks,
    drawn.gradings,
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

  const [commands, diff, signals] = await Promise.allSettled([
    reviewApi.getCommands(id, scope.signal),
    reviewApi.getDiff(id, scope.signal),
    reviewApi.getSignals(id, scope.signal),
  ]);
  if (scope.disposed) return;
  if (commands.status === 'fulfilled') {
    const report = signals.status === 'fulfilled' ? signals.value : null;
    const facts = signalFacts(report, bundle.events, bundle.attempt.startedAt);
    timeline = new CommandTimelineView(commands.value, { scope, onSeek: seek, saves: fileSaves(bundle), facts });
    timelineHost.replaceChildren(...(report ? [renderSignalSummary(report)] : []), timeline.element);
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
  item('Exercise version', exerciseVersionText(bundle), 'review-exercise-version');

  const score = grading
    ? h(
        'div',
        { class: 'review-score', 'data-testid': 'review-score' },
        h('span', { class: 'review-score-value' }, `${grading.score}/${grading.maxScore}`),
        h('span', { class: 'review-score-label muted' }, 'points'),
        grading.pendingPoints > 0
          ? h(
              'span',
              { class: 'review-score-pending', 'data-testid': 'review-pending', title: 'Advisory checks count once a reviewer confirms them' },
              `+${grading.pendingPoints} awaiting review`,
            )
          : null,
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
      ...handOvers(bundle),
      meta,
      links,
    ),
    score,
  );
}

/** The attempt changed hands: each reissue of the invite's link (by whom, when), from the attempt's events. */
function handOvers(bundle: ReviewBundle): HTMLElement[] {
  return bundle.events
    .filter((e) => e.kind === 'link-reissued')
    .map((e) => {
      const by = (e.detail as { by?: { name?: string } } | null)?.by?.name ?? 'a staff member';
      const at = new Date(e.at).toLocaleString();
      return h(
        'p',
        { class: 'review-note message message-info', 'data-testid': 'review-reissued' },
        `The link was reissued by ${by} on ${at}: from then on the attempt continued in another browser (see the “link reissued” marker in the replay).`,
      );
    });
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

/** Saves from the workspace's editor (`file.saved` events), on the recording's clock (it starts with the attempt). */
function fileSaves(bundle: ReviewBundle): FileSaveRow[] {
  const start = bundle.attempt.startedAt ? Date.parse(bundle.attempt.startedAt) : NaN;
  if (!Number.isFinite(start)) return [];
  return bundle.events
    .filter((e) => e.kind === 'file.saved')
    .map((e) => {
      const d = e.detail as Partial<FileSavedEvent> | null;
      return { at: Math.max(0, (Date.parse(e.at) - start) / 1000), path: String(d?.path ?? '?'), bytes: Number(d?.bytes ?? 0), diff: String(d?.diff ?? ''), diffCut: d?.diffCut === true };
    });
}
