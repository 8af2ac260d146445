// `/attempts/:id/done`: the end of an attempt. Says how it ended (submitted, time up, invite withdrawn) and what
// happens next. Interview attempts never show a grade here; practice attempts lead back to the catalog.

import '../candidate/candidate.css';
import { api, ApiError, isAbort, isAttemptActive, type AttemptView } from '../api.js';
import { candidateHeader } from '../candidate/layout.js';
import { recallEndedView, rememberEndedView } from '../candidate/last-view.js';
import { h } from '../dom.js';
import type { PageContext } from '../router.js';
import { errorText } from '../ui/errors.js';
import { setDocumentTitle, spinner } from '../ui/layout.js';

type Outcome = 'submitted' | 'expired' | 'revoked' | 'failed' | 'running' | 'ended';

export default function donePage({ root, scope, params }: PageContext): void {
  const attemptId = params['id'] ?? '';
  setDocumentTitle('Attempt ended');
  const main = h('main', { class: 'page page-narrow candidate-page', id: 'main', 'data-testid': 'done-page' });
  root.append(candidateHeader(), main);

  void load();

  async function load(): Promise<void> {
    main.setAttribute('aria-busy', 'true');
    main.replaceChildren(h('p', { class: 'muted candidate-loading', role: 'status' }, spinner(), 'Loading…'));
    let attempt: AttemptView | null;
    let refused: ApiError | null = null;
    try {
      attempt = await api.getAttempt(attemptId, scope.signal);
      if (!isAttemptActive(attempt)) rememberEndedView(attempt);
    } catch (err) {
      if (isAbort(err) || scope.disposed) return;
      if (!(err instanceof ApiError) || err.isNetwork || err.status >= 500 || err.status === 400) {
        main.removeAttribute('aria-busy');
        showLoadError(err);
        return;
      }
      // A withdrawn invite's token no longer opens the attempt: what this tab saw last still tells the story.
      refused = err;
      attempt = recallEndedView(attemptId);
    }
    if (scope.disposed) return;
    main.removeAttribute('aria-busy');
    render(attempt, refused);
  }

  function showLoadError(err: unknown): void {
    const retry = h('button', { type: 'button', class: 'button button-primary', 'data-testid': 'done-retry' }, 'Try again');
    retry.addEventListener('click', () => void load(), { signal: scope.signal });
    main.replaceChildren(
      h('h1', { tabindex: -1 }, 'This page could not be loaded'),
      h('p', { class: 'message message-error', role: 'alert' }, errorText(err, 'The attempt could not be loaded.')),
      h('p', { class: 'muted' }, 'Your work is kept on the server either way.'),
      h('p', { class: 'actions' }, retry),
    );
    retry.focus();
  }

  function render(attempt: AttemptView | null, refused: ApiError | null): void {
    const outcome = outcomeOf(attempt, refused);
    // Without the attempt (another browser, a withdrawn token) assume an invite: say nothing about a catalog.
    const practice = attempt?.mode === 'practice';
    const { title, text } = TEXT[outcome];
    setDocumentTitle(title);

    const heading = h('h1', { tabindex: -1, 'data-testid': 'done-title', 'data-outcome': outcome }, title);
    const next: (HTMLElement | null)[] = [];
    if (outcome === 'running') {
      next.push(
        h(
          'p',
          { class: 'actions' },
          h('a', { href: `/attempts/${encodeURIComponent(attemptId)}`, class: 'button button-primary', 'data-testid': 'done-back' }, 'Back to your exercise'),
        ),
      );
    } else if (practice) {
      next.push(
        h('h2', {}, 'What next'),
        h('p', {}, 'See how your work was checked, or pick another exercise.'),
        h(
          'p',
          { class: 'actions' },
          outcome === 'failed'
            ? null
            : h(
                'a',
                { href: `/practice/${encodeURIComponent(attemptId)}`, class: 'button button-primary', 'data-testid': 'done-results' },
                'See your results',
              ),
          h('a', { href: '/', class: outcome === 'failed' ? 'button button-primary' : 'button', 'data-testid': 'done-catalog' }, 'Back to the exercises'),
        ),
      );
    } else if (outcome === 'failed') {
      next.push(
        h('h2', {}, 'What happens next'),
        h('p', {}, 'Please contact the person who invited you: they can send you a new invitation.'),
      );
    } else {
      next.push(
        h('h2', {}, 'What happens next'),
        h(
          'p',
          {},
          outcome === 'revoked'
            ? 'If you have questions about this, please contact the person who invited you.'
            : 'The hiring team reviews your work and will get back to you. There is nothing else you need to do; you can close this page.',
        ),
      );
    }

    main.replaceChildren(
      h(
        'section',
        { class: 'candidate-done', 'data-testid': 'done-result', 'data-outcome': outcome },
        h('div', { class: `candidate-done-icon candidate-done-icon-${outcome}`, 'aria-hidden': 'true' }, ICON[outcome]),
        heading,
        h('p', { class: 'lead' }, text),
      ),
      h('section', { class: 'candidate-next', 'data-testid': 'done-next' }, ...next),
    );
    heading.focus({ preventScroll: true });
  }
}

function outcomeOf(attempt: AttemptView | null, refused: ApiError | null): Outcome {
  if (attempt) {
    if (isAttemptActive(attempt) && !refused) return 'running';
    if (attempt.state === 'failed') return 'failed';
    if (attempt.endReason === 'revoked') return 'revoked';
    if (attempt.endReason === 'expired' || attempt.state === 'expired') return 'expired';
    if (attempt.endReason === 'submitted' || attempt.state === 'submitted') return 'submitted';
    return 'ended';
  }
  // The server says "gone" for an invite that was withdrawn.
  return refused?.status === 410 ? 'revoked' : 'ended';
}

const TEXT: Record<Outcome, { title: string; text: string }> = {
  submitted: {
    title: 'Your attempt was submitted',
    text: 'Thank you. Your work was saved as it was when you submitted it.',
  },
  expired: {
    title: 'Time is up: your work was saved and submitted',
    text: 'Thank you. Your work was saved as it was when the time ran out, and submitted for you.',
  },
  revoked: {
    title: 'This invite was withdrawn',
    text: 'The exercise has ended because the invitation was withdrawn. Your work up to that moment was saved.',
  },
  failed: {
    title: 'Your machine could not be started',
    text: 'Something went wrong on our side before your exercise began. Nothing was counted against you.',
  },
  running: {
    title: 'Your exercise is still running',
    text: 'The clock is still running. Go back to your exercise to continue or to submit it.',
  },
  ended: {
    title: 'This exercise has ended',
    text: 'Your work is kept on the server.',
  },
};

const ICON: Record<Outcome, string> = {
  submitted: '✓',
  expired: '✓',
  revoked: 'i',
  failed: '!',
  running: '…',
  ended: 'i',
};
