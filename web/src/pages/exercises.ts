// `/`: the practice catalog. Each exercise with the trainee's own status (kept under their browser's anonymous
// practice token); Start creates an attempt (which waits until the sandbox runs) and opens it.

import { api, ApiError, isAbort, isAttemptActive, type AttemptView, type ExerciseSummary } from '../api.js';
import { h } from '../dom.js';
import { forgetAttempt, recentAttempt } from '../recent-attempt.js';
import type { PageContext } from '../router.js';
import { errorText } from '../ui/errors.js';
import { cssToken, formatClock, formatMinutes, plural } from '../ui/format.js';
import { setDocumentTitle, siteHeader, spinner } from '../ui/layout.js';
import { ServerClock } from '../ui/server-clock.js';
import '../practice/practice.css';
import { practiceApi, SKILL_TITLES, type PracticeProgress, type PracticeState } from '../practice/api.js';

export default function exercisesPage({ root, scope, navigate }: PageContext): void {
  setDocumentTitle('Exercises');

  const heading = h('h1', { tabindex: -1 }, 'Practice exercises');
  const status = h('div', { class: 'status-area', role: 'status', 'aria-live': 'polite' });
  const alert = h('div', { class: 'status-area', role: 'alert' });
  const resume = h('div', { class: 'resume-area' });
  const list = h('ul', { class: 'exercise-list', 'aria-label': 'Exercises', 'aria-busy': 'true' });

  root.append(
    siteHeader(),
    h(
      'main',
      { class: 'page' },
      heading,
      h(
        'p',
        { class: 'lead' },
        'Pick an exercise. You get a real Linux machine with a root shell in your browser, checks that tell you ' +
          'how far you are, hints when you are stuck, and the solution once you are done. No account needed: ' +
          'this browser keeps your progress.',
      ),
      resume,
      status,
      alert,
      list,
      h(
        'p',
        { class: 'staff-link' },
        'Sent an invite? Open the link from your email. Hiring team? ',
        h('a', { href: '/login' }, 'Sign in'),
        '.',
      ),
    ),
  );
  heading.focus({ preventScroll: true });
  let practice: PracticeState | null = null;

  const startButtons: HTMLButtonElement[] = [];
  let starting = false;

  function showStatus(content: Node | string | null): void {
    status.replaceChildren();
    if (content !== null) status.append(h('p', { class: 'message message-info' }, spinner(), content));
  }

  function showError(text: string | null): void {
    alert.replaceChildren();
    if (text !== null) alert.append(h('p', { class: 'message message-error', 'data-testid': 'start-error' }, text));
  }

  function setButtonsDisabled(disabled: boolean): void {
    for (const button of startButtons) button.disabled = disabled;
  }

  async function start(exercise: ExerciseSummary, button: HTMLButtonElement): Promise<void> {
    if (starting) return;
    starting = true;
    showError(null);
    setButtonsDisabled(true);
    button.setAttribute('aria-busy', 'true');
    const label = button.textContent;
    button.replaceChildren(spinner(), 'Starting…');
    showStatus('Starting your sandbox…');
    try {
      const attempt = await api.createAttempt(exercise.id, scope.signal);
      navigate(`/attempts/${encodeURIComponent(attempt.id)}`);
      return;
    } catch (err) {
      if (isAbort(err) || scope.disposed) return;
      showStatus(null);
      button.removeAttribute('aria-busy');
      button.textContent = label;
      const retryAfter = err instanceof ApiError ? err.retryAfterSeconds : null;
      showError(startErrorMessage(err));
      // Another practice attempt is running: show it with its Continue button (the reload clears the message).
      if (err instanceof ApiError && err.status === 409) {
        const message = startErrorMessage(err);
        void load().then(() => showError(message));
      }
      if (err instanceof ApiError && (err.status === 503 || err.status === 429) && retryAfter !== null && retryAfter > 0) {
        holdButtons(retryAfter);
      } else {
        setButtonsDisabled(false);
        button.focus();
      }
    } finally {
      starting = false;
    }
  }

  /** After a 503, Start stays disabled until the server's Retry-After has passed. */
  function holdButtons(seconds: number): void {
    let left = seconds;
    const labels = startButtons.map((b) => b.textContent ?? 'Start');
    const tick = (): void => {
      for (const b of startButtons) b.textContent = `Retry in ${left}s`;
    };
    tick();
    const stop = scope.interval(() => {
      left -= 1;
      if (left > 0) {
        tick();
        return;
      }
      stop();
      startButtons.forEach((b, i) => (b.textContent = labels[i] ?? 'Start'));
      setButtonsDisabled(false);
    }, 1000);
  }

  function card(exercise: ExerciseSummary): HTMLElement {
    const titleId = `exercise-${exercise.id}-title`;
    const progress = practice?.exercises.find((p) => p.exerciseId === exercise.id);
    const button = h(
      'button',
      {
        type: 'button',
        class: 'button button-primary',
        'data-testid': 'start-button',
        'aria-describedby': titleId,
      },
      progress?.status === 'done' ? 'Start again' : 'Start',
    );
    button.addEventListener('click', () => void start(exercise, button), { signal: scope.signal });
    startButtons.push(button);
    const action: HTMLElement =
      progress?.activeAttemptId
        ? h(
            'a',
            {
              href: `/attempts/${encodeURIComponent(progress.activeAttemptId)}`,
              class: 'button button-primary',
              'data-testid': 'continue-button',
              'aria-describedby': titleId,
            },
            'Continue',
          )
        : button;
    const difficulty = String(exercise.difficulty);
    return h(
      'li',
      {},
      h(
        'article',
        { class: 'card', 'data-testid': 'exercise-card', 'data-exercise-id': exercise.id, 'aria-labelledby': titleId },
        h('h2', { id: titleId, class: 'card-title' }, exercise.title),
        h('p', { class: 'card-summary' }, exercise.summary),
        h(
          'div',
          { class: 'card-footer' },
          h(
            'dl',
            { class: 'meta' },
            h('div', {}, h('dt', {}, 'Difficulty'), h('dd', {}, h('span', { class: `badge badge-${cssToken(difficulty)}` }, difficulty))),
            h('div', {}, h('dt', {}, 'Expected'), h('dd', { 'data-testid': 'time-limit' }, formatMinutes(exercise.timeLimitMinutes))),
            h('div', {}, h('dt', {}, 'Your status'), h('dd', { 'data-testid': 'practice-status' }, statusText(progress))),
          ),
          action,
        ),
        exercise.skills.length > 0
          ? h(
              'ul',
              { class: 'skill-list', 'aria-label': 'Skills' },
              ...exercise.skills.map((s) => h('li', { class: 'skill' }, SKILL_TITLES[s] ?? s)),
            )
          : null,
        progress?.lastAttemptId && progress.status === 'done'
          ? h(
              'p',
              { class: 'card-link' },
              h('a', { href: `/practice/${encodeURIComponent(progress.lastAttemptId)}`, 'data-testid': 'last-result' }, 'Your last attempt: results, replay and solution'),
            )
          : null,
      ),
    );
  }

  async function load(): Promise<ExerciseSummary[] | null> {
    showError(null);
    list.setAttribute('aria-busy', 'true');
    list.replaceChildren(h('li', { class: 'list-placeholder' }, spinner(), 'Loading exercises…'));
    try {
      const [exercises, state] = await Promise.all([api.listExercises(scope.signal), practiceApi.state(scope.signal)]);
      practice = state;
      list.removeAttribute('aria-busy');
      if (!state.enabled) {
        list.replaceChildren(
          h(
            'li',
            { class: 'list-placeholder', 'data-testid': 'practice-off' },
            'Practice is turned off on this opslab. If you were sent an invite, open the link from your email.',
          ),
        );
        return exercises;
      }
      startButtons.length = 0;
      if (exercises.length === 0) {
        list.replaceChildren(h('li', { class: 'list-placeholder' }, 'No exercises are offered for practice yet.'));
        return exercises;
      }
      list.replaceChildren(...exercises.map(card));
      status.replaceChildren();
      const count = h('p', { class: 'visually-hidden' }, `${plural(exercises.length, 'exercise')} available.`);
      status.append(count);
      return exercises;
    } catch (err) {
      if (isAbort(err) || scope.disposed) return null;
      list.removeAttribute('aria-busy');
      const retry = h('button', { type: 'button', class: 'button' }, 'Try again');
      retry.addEventListener('click', () => void load(), { signal: scope.signal });
      list.replaceChildren(
        h(
          'li',
          { class: 'list-placeholder' },
          h('p', { class: 'message message-error' }, errorText(err, 'The exercises could not be loaded.')),
          retry,
        ),
      );
      return null;
    }
  }

  /** Offers to continue the attempt this browser last had open, while it still runs. */
  async function offerResume(exercises: Promise<ExerciseSummary[] | null>): Promise<void> {
    const id = recentAttempt();
    if (!id) return;
    let attempt: AttemptView;
    const sentAt = Date.now();
    const clock = new ServerClock();
    try {
      attempt = await api.getAttempt(id, scope.signal);
      clock.sync(attempt.serverTime, sentAt);
    } catch (err) {
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) forgetAttempt(id);
      return;
    }
    if (scope.disposed) return;
    if (!isAttemptActive(attempt)) {
      forgetAttempt(id);
      return;
    }
    const title = (await exercises)?.find((e) => e.id === attempt.exerciseId)?.title ?? attempt.exerciseId;
    if (scope.disposed) return;
    let left = '';
    if (attempt.deadline) left = ` · ${formatClock(clock.until(attempt.deadline))} left`;
    resume.replaceChildren(
      h(
        'div',
        { class: 'resume', 'data-testid': 'resume-attempt' },
        h('p', { class: 'resume-text' }, h('strong', {}, 'Attempt in progress: '), `${title}${left}`),
        h('a', { href: `/attempts/${encodeURIComponent(attempt.id)}`, class: 'button button-primary' }, 'Continue'),
      ),
    );
  }

  const loaded = load();
  void offerResume(loaded);
}

function statusText(progress: PracticeProgress | undefined): string {
  if (!progress || progress.status === 'not-started') return 'Not started';
  if (progress.status === 'in-progress') return 'In progress';
  if (progress.bestScore !== null && progress.maxScore) return `Best ${progress.bestScore}/${progress.maxScore}`;
  return 'Done';
}

function startErrorMessage(err: unknown): string {
  if (!(err instanceof ApiError)) return 'Something went wrong while starting your sandbox. Please try again.';
  if (err.isNetwork) return 'Cannot reach the opslab server. Check your connection and try again.';
  switch (err.status) {
    case 503: {
      const wait = err.retryAfterSeconds;
      return wait !== null && wait > 0
        ? `All sandboxes are in use right now. Please try again in ${plural(wait, 'second')}.`
        : 'All sandboxes are in use right now. Please try again in a moment.';
    }
    case 502:
      return 'Your sandbox could not be started. Please try again; if it keeps failing, tell the person who runs this platform.';
    case 404:
      return 'This exercise is no longer available. Reload the page to see the current list.';
    case 409:
      // One practice sandbox at a time: the message names the exercise still running.
      return err.message;
    case 429: // Too many starts from this address: the message says when to try again.
    case 507: // The server's storage has no room for new practice attempts.
      return err.message;
    default:
      return err.status >= 500 ? 'The server had a problem starting your sandbox. Please try again.' : err.message;
  }
}
