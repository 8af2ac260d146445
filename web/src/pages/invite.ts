// `/invite#<token>`: the candidate's landing page. It says who is invited to what, for how long, under which
// rules and what is recorded; Start (one click) starts the clock and opens the workspace. The link is a claim:
// Start gives this browser the attempt's own credential (an HttpOnly cookie), and from then on the link alone opens
// nothing. An invite already started offers Resume in the browser that started it (or, after the hiring team
// reissued the link, in the browser that opens the new one); elsewhere it says so. A finished one goes to the done
// page. The token is read from the fragment and sent only as an Authorization header.

import '../candidate/candidate.css';
import { api, ApiError, isAbort, type AttemptView } from '../api.js';
import { ERROR_CODES } from '../../../contract/index.js';
import { getInvite, startInvite, tokenFromHash, type CandidateInvite } from '../candidate/invite-api.js';
import { inviteDetails } from '../candidate/invite-details.js';
import { candidateHeader } from '../candidate/layout.js';
import { rememberEndedView } from '../candidate/last-view.js';
import { append, h } from '../dom.js';
import type { PageContext } from '../router.js';
import { errorText } from '../ui/errors.js';
import { plural } from '../ui/format.js';
import { setDocumentTitle, spinner } from '../ui/layout.js';

/** After this long without an answer, the status line says that preparing the machine is still going on. */
const SLOW_START_MS = 4_000;

export default function invitePage({ root, scope, navigate }: PageContext): void {
  setDocumentTitle('Your invitation');
  const main = h('main', { class: 'page candidate-page', id: 'main', 'data-testid': 'invite-page' });
  root.append(candidateHeader(), main);

  const token = tokenFromHash();
  if (token === null) {
    showGone(
      'This link is incomplete',
      'The invitation link seems to be cut short. Open the whole link from your invitation message; ' +
        'if it still does not work, please contact the person who invited you.',
      'incomplete',
    );
    return;
  }
  const inviteToken = token;
  // A new fragment (another invite pasted into the same tab) is a new page.
  scope.listen(window, 'hashchange', () => navigate(location.pathname + location.hash, { replace: true }));

  void load();

  function focusHeading(): void {
    main.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
  }

  async function load(): Promise<void> {
    main.setAttribute('aria-busy', 'true');
    main.replaceChildren(h('p', { class: 'muted candidate-loading', role: 'status' }, spinner(), 'Opening your invitation…'));
    let invite: CandidateInvite;
    try {
      invite = await getInvite(inviteToken, scope.signal);
    } catch (err) {
      if (isAbort(err) || scope.disposed) return;
      main.removeAttribute('aria-busy');
      if (!showInviteGone(err)) showLoadError(err);
      return;
    }
    if (scope.disposed) return;
    main.removeAttribute('aria-busy');
    if (invite.state === 'finished') {
      openFinished(invite);
      return;
    }
    if (invite.state === 'running' && invite.claimed && invite.attemptId) {
      // Started from this link: only the browser that started holds the attempt's cookie.
      const here = await holdsAttempt(invite.attemptId);
      if (here === null || scope.disposed) return;
      if (!here) {
        showClaimed();
        return;
      }
    }
    render(invite);
  }

  /** Whether this browser holds the attempt's credential (its cookie); null when the page went away meanwhile. */
  async function holdsAttempt(attemptId: string): Promise<boolean | null> {
    try {
      await api.getAttempt(attemptId, scope.signal);
      return true;
    } catch (err) {
      if (isAbort(err) || scope.disposed) return null;
      return !(err instanceof ApiError && (err.status === 401 || err.status === 404 || err.status === 410));
    }
  }

  function showClaimed(): void {
    showGone(
      'This exercise is open in another browser',
      'It was started from this link in another browser or window, and it can only be continued there. ' +
        'If you no longer have that browser, ask the person who invited you for a new link.',
      'claimed',
    );
  }

  /** 404 / 410 / 401: a kind sentence and nothing else. Returns false for other errors. */
  function showInviteGone(err: unknown): boolean {
    if (!(err instanceof ApiError)) return false;
    if (err.status === 410) {
      showGone(
        'This invitation is no longer active',
        'It was withdrawn or it has expired, so it cannot be used any more. ' +
          'If you think this is a mistake, please contact the person who invited you.',
        'gone',
      );
      return true;
    }
    if (err.status === 409 && err.code === ERROR_CODES.inviteState) {
      showClaimed();
      return true;
    }
    if (err.status === 409 && err.code === ERROR_CODES.exerciseVersionMissing) {
      showGone(
        'This invitation cannot be started',
        'The exercise prepared for this invitation is no longer available on this server. Nothing has started and no ' +
          'clock is running. Please contact the person who invited you for a new invitation.',
        'version-missing',
      );
      return true;
    }
    if (err.status === 404 || err.status === 401) {
      showGone(
        'We could not find this invitation',
        'Please check that you opened the whole link from your invitation message. ' +
          'If it still does not work, contact the person who invited you.',
        'unknown',
      );
      return true;
    }
    return false;
  }

  function showGone(title: string, text: string, kind: string): void {
    setDocumentTitle(title);
    main.replaceChildren(
      h(
        'section',
        { class: 'candidate-notice', 'data-testid': 'invite-gone', 'data-kind': kind },
        h('h1', { tabindex: -1 }, title),
        h('p', { class: 'lead' }, text),
      ),
    );
    focusHeading();
  }

  function showLoadError(err: unknown): void {
    const retry = h('button', { type: 'button', class: 'button button-primary', 'data-testid': 'invite-retry' }, 'Try again');
    retry.addEventListener('click', () => void load(), { signal: scope.signal });
    main.replaceChildren(
      h(
        'section',
        { class: 'candidate-notice', 'data-testid': 'invite-load-error' },
        h('h1', { tabindex: -1 }, 'Your invitation could not be opened'),
        h('p', { class: 'message message-error', role: 'alert' }, errorText(err, 'Your invitation could not be loaded.')),
        h('p', { class: 'muted' }, 'Nothing has started yet. Check your connection, then try again.'),
        h('p', { class: 'actions' }, retry),
      ),
    );
    retry.focus();
  }

  /** A finished invite: the done page (which says what it can without this browser's credential). */
  function openFinished(invite: CandidateInvite): void {
    if (invite.attemptId) {
      navigate(`/attempts/${encodeURIComponent(invite.attemptId)}/done`, { replace: true });
      return;
    }
    showGone('This exercise has ended', 'Your attempt is over; the hiring team reviews it. You can close this page.', 'finished');
  }

  function render(invite: CandidateInvite): void {
    const resuming = invite.state === 'running';
    const name = invite.candidateName.trim();
    setDocumentTitle(resuming ? 'Welcome back' : 'Your invitation');

    const button = h(
      'button',
      {
        type: 'button',
        class: 'button button-primary button-large',
        'data-testid': resuming ? 'invite-resume' : 'invite-start',
        'aria-describedby': 'invite-start-note',
      },
      resuming ? 'Resume' : 'Start',
    );
    const label = button.textContent ?? 'Start';
    const idleNote = resuming
      ? 'Your shell and your files are as you left them. The clock kept running while you were away.'
      : 'Preparing your machine takes a few seconds. One press is enough.';
    // Next to the button, so that it is in view with it: what the button does, then how the start is going.
    const note = h(
      'p',
      { class: 'muted candidate-start-note', id: 'invite-start-note', role: 'status', 'data-testid': 'invite-status' },
      idleNote,
    );
    const alert = h('div', { class: 'status-area', role: 'alert', 'data-testid': 'invite-error' });
    const actionBox = h(
      'section',
      { class: 'candidate-action', 'aria-label': resuming ? 'Resume' : 'Start' },
      h('div', { class: 'candidate-action-row' }, button, note),
      alert,
    );

    let starting = false;
    let holdUntil = 0;

    const setStatus = (text: string | null): void => {
      note.textContent = text ?? idleNote;
      note.classList.toggle('candidate-start-note-busy', text !== null);
    };
    const setError = (text: string | null): void => {
      alert.replaceChildren();
      if (text === null) return;
      alert.append(h('p', { class: 'message message-error' }, text));
      alert.scrollIntoView({ block: 'nearest' });
    };
    const setBusy = (busy: boolean): void => {
      // aria-disabled rather than disabled: a keyboard user keeps the focus on the button.
      button.setAttribute('aria-disabled', String(busy));
      if (busy) button.setAttribute('aria-busy', 'true');
      else button.removeAttribute('aria-busy');
    };

    const start = async (): Promise<void> => {
      if (starting || Date.now() < holdUntil) return;
      starting = true;
      setError(null);
      setBusy(true);
      button.replaceChildren(spinner(), resuming ? 'Resuming…' : 'Starting…');
      setStatus(resuming ? 'Reconnecting you to your machine…' : 'Preparing your Linux machine. This usually takes a few seconds…');
      const cancelSlow = scope.timeout(() => {
        if (starting) setStatus('Still preparing your machine. Thank you for your patience…');
      }, SLOW_START_MS);
      let attempt: AttemptView;
      try {
        // This browser started it: its cookie opens the attempt, and the link is claimed already.
        attempt =
          resuming && invite.claimed && invite.attemptId
            ? await api.getAttempt(invite.attemptId, scope.signal)
            : await startInvite(inviteToken, scope.signal);
      } catch (err) {
        cancelSlow();
        if (isAbort(err) || scope.disposed) return;
        starting = false;
        setStatus(null);
        if (showInviteGone(err)) return;
        button.replaceChildren(resuming ? 'Try again' : 'Start');
        setError(startErrorText(err, resuming));
        const wait = err instanceof ApiError && err.status === 503 ? (err.retryAfterSeconds ?? 0) : 0;
        if (wait > 0) hold(wait);
        else setBusy(false);
        return;
      }
      cancelSlow();
      if (scope.disposed) return;
      const id = encodeURIComponent(attempt.id);
      if (attempt.state === 'failed') {
        starting = false;
        setStatus(null);
        button.replaceChildren(label);
        setBusy(false);
        setError(SANDBOX_FAILED);
        return;
      }
      if (attempt.state === 'running' || attempt.state === 'created') {
        navigate(`/attempts/${id}`);
        return;
      }
      rememberEndedView(attempt);
      navigate(`/attempts/${id}/done`, { replace: true });
    };

    /** After a 503 the button waits out the server's Retry-After, counting it down on its label. */
    const hold = (seconds: number): void => {
      holdUntil = Date.now() + seconds * 1000;
      const tick = (): void => {
        const left = Math.ceil((holdUntil - Date.now()) / 1000);
        if (left > 0) {
          button.textContent = `Try again in ${left} s`;
          return;
        }
        stop();
        holdUntil = 0;
        button.textContent = resuming ? 'Try again' : 'Start';
        setBusy(false);
      };
      tick();
      const stop = scope.interval(tick, 250);
    };

    button.addEventListener('click', () => void start(), { signal: scope.signal });

    const details = inviteDetails(invite);

    const heading = h(
      'h1',
      { tabindex: -1, 'data-testid': 'invite-greeting' },
      name ? `${resuming ? 'Welcome back' : 'Hello'}, ${name}` : resuming ? 'Welcome back' : 'Hello',
    );
    const lead = h(
      'p',
      { class: 'lead' },
      resuming
        ? `Your exercise is in progress. Resume to continue where you left off.`
        : `You are invited to a hands-on exercise on a real Linux machine in your browser. ` +
            `Take a moment to read this page; nothing starts until you press Start.`,
    );

    main.replaceChildren();
    append(
      main,
      heading,
      lead,
      resuming ? actionBox : null,
      h(
        'div',
        { class: 'candidate-grid' },
        h('div', { class: 'candidate-column' }, details.exercise, details.clock, resuming ? null : actionBox),
        h('div', { class: 'candidate-column' }, details.rules, details.recorded),
      ),
    );
    focusHeading();
    main.dataset['state'] = invite.state;
  }
}

const SANDBOX_FAILED =
  'Your machine could not be started, so your clock has not started. Please try again in a moment; ' +
  'if it keeps failing, contact the person who invited you.';

function startErrorText(err: unknown, resuming: boolean): string {
  if (!(err instanceof ApiError)) return 'Something went wrong. Please try again.';
  if (err.isNetwork) return 'Cannot reach the opslab server. Check your connection and try again.';
  switch (err.status) {
    case 503: {
      const wait = err.retryAfterSeconds;
      const when = wait !== null && wait > 0 ? `in ${plural(wait, 'second')}` : 'in a moment';
      return resuming
        ? `The platform is very busy right now. Please try again ${when}.`
        : `All machines are in use right now, so your clock has not started. Please try again ${when}.`;
    }
    case 502:
      return SANDBOX_FAILED;
    case 507: // The server's storage is full: the clock has not started.
      return err.message;
    default:
      return err.status >= 500
        ? 'The server had a problem. Please try again; if it keeps failing, contact the person who invited you.'
        : err.message;
  }
}
