// `/login`: interviewers and admins sign in. `?next=` brings them back to the staff page they came from (only
// paths under /manage on this site); otherwise they land on /manage. With single sign-on configured the page offers
// "Sign in with <provider>" (and hides the password form when password sign-in is off); a refused single sign-on
// comes back here as `?sso=<reason>`, said in words.

import type { SsoFailure } from '../../../contract/index.js';
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
  const methods = state?.signIn ?? { password: true, sso: null };
  const ssoFailure = query.get('sso');
  const ssoAlert = ssoFailure
    ? h('p', { class: 'message message-error', role: 'alert', 'data-testid': 'sso-error' }, ssoFailureText(ssoFailure))
    : null;
  const ssoButton = methods.sso
    ? h(
        'p',
        { class: 'sso-sign-in' },
        h(
          'a',
          {
            class: 'button button-primary',
            href: `/api/auth/oidc/start?next=${encodeURIComponent(next)}`,
            'data-testid': 'sso-sign-in',
          },
          `Sign in with ${methods.sso.name}`,
        ),
      )
    : null;
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
  card.append(notices);
  if (ssoAlert) card.append(ssoAlert);
  if (ssoButton) card.append(ssoButton);
  if (methods.password) {
    if (ssoButton) card.append(h('p', { class: 'sso-or' }, 'or with your opslab password'));
    card.append(alert, form);
  } else if (!ssoButton) {
    card.append(message('error', 'Signing in is not possible on this server right now.', 'no-sign-in'));
  }

  if (query.has('signedOut')) notices.append(message('info', 'You are signed out.', 'signed-out'));
  if (state?.setupRequired) {
    notices.append(
      message(
        'info',
        methods.sso
          ? `No account exists yet. Sign in with ${methods.sso.name} (members of the admin group become admins), or open the one-time setup link that opslab printed when it started.`
          : 'No account exists yet. Open the one-time setup link that opslab printed when it started, to create the first admin.',
        'setup-required',
      ),
    );
  }
  if (methods.password) email.input.focus();
  else ssoButton?.querySelector('a')?.focus();
}

/** What a refused single sign-on (`?sso=<reason>`) means for the person signing in. */
function ssoFailureText(reason: string): string {
  const texts: Record<SsoFailure, string> = {
    state: 'That sign-in expired or was already used. Start again.',
    provider: 'The sign-in provider did not complete the sign-in (it was cancelled or refused). Start again.',
    unavailable: 'The sign-in provider could not be reached. Try again in a moment.',
    token: 'The sign-in provider\'s answer could not be verified, so you were not signed in. Ask an admin to check the single sign-on settings.',
    expired: 'The sign-in provider\'s answer had expired (the sign-in took too long, or the clocks disagree). Start again.',
    email: 'Your account at the sign-in provider has no verified email address, so you cannot sign in here.',
    domain: 'Your email address is not in a domain allowed to sign in here.',
    role: 'Your account at the sign-in provider is in no group that may use opslab. Ask an admin for access.',
    disabled: 'Your opslab account is disabled. Ask an admin.',
    conflict: 'An opslab account with your email is already linked to another sign-in. Ask an admin.',
    rate: 'Too many sign-ins were begun from your address. Wait a few minutes and try again.',
  };
  return Object.hasOwn(texts, reason) ? texts[reason as SsoFailure] : 'Single sign-on did not work. Start again.';
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
