// `/practice/:id`: a trainee's own finished practice attempt: the final checks with every message, the replay
// with the commands they ran, and the reference solution. Opened with the browser's practice token.

import '../practice/practice.css';
import '../review/review.css';
import { api, ApiError, attemptPath, isAbort, request, type AttemptView, type CheckRun } from '../api.js';
import { h } from '../dom.js';
import { practiceApi, type Solution } from '../practice/api.js';
import type { CommandTimeline } from '../review/api.js';
import { TerminalReplays } from '../review/terminal-replays.js';
import { CommandTimelineView } from '../review/timeline.js';
import type { PageContext } from '../router.js';
import { errorText } from '../ui/errors.js';
import { setDocumentTitle, siteHeader, spinner } from '../ui/layout.js';
import { renderMarkdown } from '../ui/markdown.js';

const VERDICT_TEXT = { pass: 'Passed', fail: 'Not yet', error: 'Could not be checked' } as const;

export default async function practiceResultPage({ root, scope, params }: PageContext): Promise<void> {
  const id = params.id ?? '';
  setDocumentTitle('Your practice attempt');
  const heading = h('h1', { tabindex: -1 }, 'Your practice attempt');
  const main = h('main', { class: 'page practice-result', 'data-testid': 'practice-result' }, heading);
  root.append(siteHeader(), main);
  heading.focus({ preventScroll: true });
  const loading = h('p', { class: 'message message-info' }, spinner(), 'Loading your attempt…');
  main.append(loading);

  let attempt: AttemptView;
  try {
    attempt = await api.getAttempt(id, scope.signal);
  } catch (err) {
    if (isAbort(err) || scope.disposed) return;
    loading.replaceWith(
      h(
        'p',
        { class: 'message message-error', role: 'alert' },
        err instanceof ApiError && (err.status === 404 || err.status === 401)
          ? 'This attempt is not one of yours (practice attempts open only in the browser that made them).'
          : errorText(err, 'Your attempt could not be loaded.'),
      ),
    );
    return;
  }
  if (attempt.state === 'running' || attempt.state === 'created') {
    loading.replaceWith(
      h(
        'p',
        { class: 'message message-info' },
        'This attempt is still running. ',
        h('a', { href: `/attempts/${encodeURIComponent(attempt.id)}` }, 'Go back to it'),
        ' — the results and the solution are here once you submit or give up.',
      ),
    );
    return;
  }
  const exercise = await api.getAttemptExercise(attempt.id, scope.signal).catch(() => null);
  if (scope.disposed) return;
  heading.textContent = exercise ? `Your attempt: ${exercise.title}` : 'Your practice attempt';
  setDocumentTitle(heading.textContent);
  loading.remove();

  // Just ended: the final grading runs before the sandbox goes (state submitted or expired until then).
  if (attempt.state === 'submitted' || attempt.state === 'expired') {
    const wait = h('p', { class: 'message message-info', role: 'status', 'data-testid': 'practice-grading-wait' }, spinner(), 'Grading your work…');
    main.append(wait);
    const until = Date.now() + 120_000;
    while (!scope.disposed && (attempt.state === 'submitted' || attempt.state === 'expired') && Date.now() < until) {
      await new Promise((resolve) => scope.timeout(() => resolve(null), 1000));
      attempt = await api.getAttempt(id, scope.signal).catch(() => attempt);
    }
    wait.remove();
    if (scope.disposed) return;
  }
  const [grading, solution, timeline] = await Promise.all([
    practiceApi.grading(attempt.id, scope.signal).catch(() => null),
    practiceApi.solution(attempt.id, scope.signal).catch(() => null),
    request<CommandTimeline>(`${attemptPath(attempt.id)}/commands`, { signal: scope.signal }).catch(() => null),
  ]);
  if (scope.disposed) return;

  if (attempt.endReason === 'preempted') {
    main.append(
      h(
          'p',
          { class: 'message message-warn', role: 'status' },
          'This practice sandbox was stopped to make room for an interview, so it was not graded. Start the exercise again when you like.',
      ),
    );
  }
  main.append(
    resultsSection(grading),
    replaySection(attempt, timeline, scope),
    solutionSection(solution),
    h('p', {}, h('a', { href: '/', class: 'button' }, 'Back to the exercises')),
  );
}

function resultsSection(grading: CheckRun | null): HTMLElement {
  const section = h('section', { 'aria-labelledby': 'result-title', 'data-testid': 'practice-grading' }, h('h2', { id: 'result-title' }, 'Checks'));
  if (!grading) {
    section.append(h('p', { class: 'muted' }, 'This attempt was not graded.'));
    return section;
  }
  if (grading.error) {
    section.append(h('p', { class: 'message message-error' }, `The grading could not be carried out: ${grading.error}`));
    return section;
  }
  section.append(
    h(
      'p',
      { class: 'lead', 'data-testid': 'practice-score' },
      `${grading.score} of ${grading.maxScore} points`,
      grading.pendingPoints ? h('span', { class: 'muted' }, ` (and ${grading.pendingPoints} in advisory checks, which a reviewer would judge)`) : null,
    ),
    h(
      'ul',
      { class: 'practice-checks' },
      ...grading.checks.map((c) =>
        h(
          'li',
          { class: `practice-check verdict-${c.verdict}`, 'data-testid': 'practice-check', 'data-verdict': c.verdict },
          h('strong', {}, `${VERDICT_TEXT[c.verdict]}: `),
          c.title,
          h('span', { class: 'muted' }, ` (${c.points} points${c.advisory ? ', advisory: not counted' : ''})`),
          c.message ? h('pre', {}, c.message) : null,
        ),
      ),
    ),
  );
  return section;
}

function replaySection(attempt: AttemptView, timeline: CommandTimeline | null, scope: PageContext['scope']): HTMLElement {
  const section = h('section', { 'aria-labelledby': 'replay-title' }, h('h2', { id: 'replay-title' }, 'Replay'));
  const replay = new TerminalReplays({ scope, url: (n) => `${attemptPath(attempt.id)}/recording${n === 1 ? '' : `?terminal=${n}`}` });
  const side = timeline
    ? new CommandTimelineView(timeline, { scope, onSeek: (t, terminal) => void replay.seek(t, terminal) }).element
    : h('p', { class: 'muted' }, 'The commands could not be listed.');
  section.append(h('div', { class: 'practice-replay' }, replay.element, h('div', {}, h('h3', {}, 'Your commands'), side)));
  return section;
}

function solutionSection(solution: Solution | null): HTMLElement {
  const section = h('section', { 'aria-labelledby': 'solution-title', 'data-testid': 'practice-solution' }, h('h2', { id: 'solution-title' }, 'Solution'));
  if (!solution || (!solution.walkthrough && !solution.script)) {
    section.append(h('p', { class: 'muted' }, 'This exercise has no written solution.'));
    return section;
  }
  if (solution.walkthrough) section.append(h('div', { class: 'markdown' }, renderMarkdown(solution.walkthrough)));
  if (solution.script) {
    section.append(
      h('details', {}, h('summary', {}, 'The reference script'), h('pre', { class: 'solution-script', 'data-testid': 'solution-script' }, solution.script)),
    );
  }
  return section;
}
