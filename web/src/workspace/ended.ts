// What the workspace shows when a practice attempt is over (the ended banner: how it ended, the way to the results),
// and the page that replaces it when the attempt cannot be opened at all.

import { ApiError, type AttemptView } from '../api.js';
import { h, type Scope } from '../dom.js';
import { errorText } from '../ui/errors.js';

export function endedBanner(attempt: AttemptView, attemptId: string): HTMLElement {
  const { text, level } = endedMessage(attempt);
  return h(
    'div',
    {
      class: `banner banner-${level} banner-ended`,
      role: 'status',
      tabindex: -1,
      'data-testid': 'ended-banner',
      'data-state': attempt.state,
      'data-end-reason': attempt.endReason ?? '',
    },
    h('p', { class: 'banner-text' }, text),
    attempt.state !== 'failed'
      ? h(
          'a',
          { href: `/practice/${encodeURIComponent(attemptId)}`, class: 'button button-primary', 'data-testid': 'practice-results-link' },
          'Results, replay and solution',
        )
      : null,
    h('a', { href: '/', class: 'button' }, 'Back to exercises'),
  );
}

function endedMessage(attempt: AttemptView): { text: string; level: 'info' | 'warn' | 'error' } {
  if (attempt.endReason === 'preempted') {
    return { text: 'This practice sandbox was stopped to make room for an interview. Start the exercise again later.', level: 'warn' };
  }
  switch (attempt.state) {
    case 'expired':
      return { text: 'Time is up — your work was submitted automatically.', level: 'info' };
    case 'submitted':
      return { text: 'Your work was submitted. You can close this page.', level: 'info' };
    case 'archived':
      return attempt.endReason === 'expired'
        ? { text: 'Time is up — your work was submitted automatically. This sandbox has since been removed.', level: 'info' }
        : { text: 'Your work was submitted. This sandbox has since been removed.', level: 'info' };
    case 'failed':
      return { text: 'Your sandbox could not be started. Go back to the exercises and try again.', level: 'error' };
    default:
      return { text: 'This attempt has ended.', level: 'info' };
  }
}

/** The attempt could not be opened (gone, another browser's, or no answer): the page says why and what to do. */
export function attemptErrorPage(err: unknown, scope: Scope): HTMLElement[] {
  const status = err instanceof ApiError ? err.status : 0;
  const heading =
    status === 404
      ? 'This attempt does not exist.'
      : status === 410
        ? 'This attempt is no longer available.'
        : status === 401 || status === 403
          ? 'This attempt belongs to another browser session.'
          : 'This attempt could not be opened.';
  const detail =
    status === 401 || status === 403
      ? 'Open it from the browser that started it, or use the link you were given.'
      : errorText(err, 'Please try again.');
  const retry = h('button', { type: 'button', class: 'button' }, 'Try again');
  retry.addEventListener('click', () => location.reload(), { signal: scope.signal });
  return [
    h('header', { class: 'site-header' }, h('a', { href: '/', class: 'brand' }, 'opslab')),
    h(
      'main',
      { class: 'page page-narrow', 'data-testid': 'attempt-error' },
      h('h1', { tabindex: -1 }, heading),
      h('p', { class: 'message message-error' }, detail),
      h('p', { class: 'actions' }, status === 0 || status >= 500 ? retry : null, h('a', { href: '/', class: 'button' }, 'Back to exercises')),
    ),
  ];
}
