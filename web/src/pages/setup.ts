// `/setup#<token>`: the one-time link opslab prints on its first start creates the first admin account. The token
// is in the fragment, which never reaches the server's logs.

import { isAbort } from '../api.js';
import { h } from '../dom.js';
import {
  accountCard,
  accountForm,
  cardNotice,
  checkNewPassword,
  formField,
  message,
  passwordFields,
  setFieldError,
} from '../manage/account-form.js';
import { loadAuthState, setupFirstAdmin, type AuthState } from '../manage/session.js';
import { ACCOUNT_LIMITS } from '../../../contract/auth.js';
import type { PageContext } from '../router.js';
import { errorText } from '../ui/errors.js';
import { setDocumentTitle } from '../ui/layout.js';

export default async function setupPage({ root, scope, navigate }: PageContext): Promise<void> {
  setDocumentTitle('Set up opslab');
  const token = location.hash.replace(/^#/, '');

  let state: AuthState | null = null;
  try {
    state = await loadAuthState(scope.signal);
  } catch (err) {
    if (isAbort(err) || scope.disposed) return;
  }
  if (scope.disposed) return;

  const card = accountCard(
    root,
    'setup',
    'Set up opslab',
    'Create the first admin account. Admins add interviewers and other admins afterwards.',
  );

  if (state && !state.setupRequired) {
    cardNotice(
      card,
      message('info', 'opslab already has an account, so this setup link no longer works.', 'setup-done'),
      h('p', {}, h('a', { href: state.user ? '/manage' : '/login' }, state.user ? 'Go to the staff pages' : 'Sign in')),
    );
    return;
  }
  if (token === '') {
    cardNotice(
      card,
      message(
        'error',
        'This page needs the whole setup link that opslab printed when it started (it ends in #…). Copy all of it into the address bar.',
        'setup-no-token',
      ),
    );
    return;
  }

  const name = formField('setup-name', 'Your name', { type: 'text', autocomplete: 'name', required: true, maxlength: ACCOUNT_LIMITS.nameMax });
  const email = formField('setup-email', 'Email', { type: 'email', autocomplete: 'username', required: true, maxlength: ACCOUNT_LIMITS.emailMax });
  const passwords = passwordFields('setup');
  const { alert, form } = accountForm({
    scope,
    id: 'setup',
    fields: [name.wrap, email.wrap, passwords.password.wrap, passwords.confirm.wrap],
    submitLabel: 'Create the admin account',
    busyLabel: 'Creating…',
    check: () => {
      const okName = setFieldError(name, name.input.value.trim() === '' ? 'Enter your name.' : null);
      const okEmail = setFieldError(email, /^[^\s@]+@[^\s@]+$/.test(email.input.value.trim()) ? null : 'Enter an email address.');
      if (!okName) name.input.focus();
      else if (!okEmail) email.input.focus();
      return okName && okEmail && checkNewPassword(passwords);
    },
    send: async () => {
      await setupFirstAdmin(
        { token, name: name.input.value.trim(), email: email.input.value.trim(), password: passwords.password.input.value },
        scope.signal,
      );
      navigate('/manage');
    },
    failure: (err) => errorText(err, 'The account could not be created.'),
  });
  card.card.append(alert, form);
  name.input.focus();
}
