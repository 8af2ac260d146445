// `/setup#<token>`: the one-time link opslab prints on its first start creates the first admin account. The token
// is in the fragment, which never reaches the server's logs.

import { isAbort } from '../api.js';
import { h } from '../dom.js';
import {
  accountCard,
  busy,
  checkNewPassword,
  formField,
  message,
  passwordFields,
  setFieldError,
} from '../manage/account-form.js';
import { loadAuthState, setupFirstAdmin, type AuthState } from '../manage/session.js';
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

  const { card, heading } = accountCard(
    root,
    'Set up opslab',
    'Create the first admin account. Admins add interviewers and other admins afterwards.',
  );
  heading.id = 'setup-title';

  if (state && !state.setupRequired) {
    card.append(
      message('info', 'opslab already has an account, so this setup link no longer works.', 'setup-done'),
      h('p', {}, h('a', { href: state.user ? '/manage' : '/login' }, state.user ? 'Go to the staff pages' : 'Sign in')),
    );
    heading.focus();
    return;
  }
  if (token === '') {
    card.append(
      message(
        'error',
        'This page needs the whole setup link that opslab printed when it started (it ends in #…). Copy all of it into the address bar.',
        'setup-no-token',
      ),
    );
    heading.focus();
    return;
  }

  const alert = h('div', { class: 'status-area', role: 'alert' });
  const name = formField('setup-name', 'Your name', { type: 'text', autocomplete: 'name', required: true, maxlength: 100 });
  const email = formField('setup-email', 'Email', { type: 'email', autocomplete: 'username', required: true, maxlength: 254 });
  const passwords = passwordFields('setup');
  const submit = h(
    'button',
    { type: 'submit', class: 'button button-primary', 'data-testid': 'setup-submit' },
    'Create the admin account',
  );
  const form = h(
    'form',
    { class: 'staff-form', novalidate: true, 'aria-labelledby': 'setup-title', 'data-testid': 'setup-form' },
    name.wrap,
    email.wrap,
    passwords.password.wrap,
    passwords.confirm.wrap,
    h('div', { class: 'form-actions' }, submit),
  );
  card.append(alert, form);
  name.input.focus();

  let sending = false;
  scope.listen(form, 'submit', (event) => {
    event.preventDefault();
    void send();
  });

  async function send(): Promise<void> {
    if (sending) return;
    alert.replaceChildren();
    const okName = setFieldError(name, name.input.value.trim() === '' ? 'Enter your name.' : null);
    const okEmail = setFieldError(email, /^[^\s@]+@[^\s@]+$/.test(email.input.value.trim()) ? null : 'Enter an email address.');
    if (!okName) return name.input.focus();
    if (!okEmail) return email.input.focus();
    if (!checkNewPassword(passwords)) return;

    sending = true;
    const restore = busy(submit, 'Creating…');
    try {
      await setupFirstAdmin(
        { token, name: name.input.value.trim(), email: email.input.value.trim(), password: passwords.password.input.value },
        scope.signal,
      );
      navigate('/manage');
    } catch (err) {
      if (isAbort(err) || scope.disposed) return;
      restore();
      alert.append(message('error', errorText(err, 'The account could not be created.'), 'setup-error'));
    } finally {
      sending = false;
    }
  }
}
