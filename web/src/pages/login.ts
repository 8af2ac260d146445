// `/login`: interviewers and admins sign in. `?next=` brings them back to the staff page they came from (only
// paths under /manage on this site); otherwise they land on /manage.

import { ApiError, isAbort } from '../api.js';
import { h } from '../dom.js';
import { accountCard, accountForm, formField, message, setFieldError } from '../manage/account-form.js';
import { loadAuthState, login, safeNext, type AuthState } from '../manage/session.js';
import type { PageContext } from '../router.js';
import { errorText } from '../ui/errors.js';
import { setDocumentTitle } from '../ui/layout.js';

export default async function loginPage({ root, scope, navigate }: PageContext): Promise<void> {
  setDocumentTitle('Sign in');
  const query = new URLSearchParams(location.search);
  const next = safeNext(query.get('next'));

  let state: AuthState | null = null;
  try {
    state = await loadAuthState(scope.signal);
  } catch (err) {
    if (isAbort(err) || scope.disposed) return;
    // The form still works; signing in says what is wrong.
  }
  if (scope.disposed) return;
  if (state?.user) {
    navigate(next, { replace: true });
    return;
  }

  const { card } = accountCard(
    root,
    'login',
    'Sign in',
    'For interviewers and admins. Candidates open the link from their invite instead.',
  );
  const notices = h('div', { class: 'status-area', role: 'status' });
  const email = formField('login-email', 'Email', { type: 'email', autocomplete: 'username', required: true });
  const password = formField('login-password', 'Password', {
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const { alert, form } = accountForm({
    scope,
    id: 'login',
    fields: [email.wrap, password.wrap],
    submitLabel: 'Sign in',
    busyLabel: 'Signing in…',
    check: () => {
      const okEmail = setFieldError(email, email.input.value.trim() === '' ? 'Enter your email.' : null);
      const okPassword = setFieldError(password, password.input.value === '' ? 'Enter your password.' : null);
      if (!okEmail) email.input.focus();
      else if (!okPassword) password.input.focus();
      return okEmail && okPassword;
    },
    send: async () => {
      await login(email.input.value.trim(), password.input.value, scope.signal);
      navigate(next);
    },
    failure: loginErrorText,
    afterFailure: (err) => {
      if (err instanceof ApiError && err.status === 401) {
        password.input.value = '';
        password.input.focus();
      }
    },
  });
  card.append(notices, alert, form);

  if (query.has('signedOut')) notices.append(message('info', 'You are signed out.', 'signed-out'));
  if (state?.setupRequired) {
    notices.append(
      message(
        'info',
        'No account exists yet. Open the one-time setup link that opslab printed when it started, to create the first admin.',
        'setup-required',
      ),
    );
  }
  email.input.focus();
}

function loginErrorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return 'Wrong email or password.';
    if (err.status === 429) {
      const seconds = err.retryAfterSeconds;
      if (seconds === null) return 'Too many failed sign-ins. Wait a while and try again.';
      const wait = seconds < 60 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
      return `Too many failed sign-ins. Try again in ${wait === '1 minutes' ? '1 minute' : wait}.`;
    }
  }
  return errorText(err, 'Signing in did not work.');
}
