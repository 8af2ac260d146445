// `/activate#<token>`: the link an admin sends with a new account. Its owner chooses a password and is signed in.

import { isAbort } from '../api.js';
import { h } from '../dom.js';
import { accountCard, busy, checkNewPassword, message, passwordFields } from '../manage/account-form.js';
import { activateAccount } from '../manage/session.js';
import type { PageContext } from '../router.js';
import { errorText } from '../ui/errors.js';
import { setDocumentTitle } from '../ui/layout.js';

export default function activatePage({ root, scope, navigate }: PageContext): void {
  setDocumentTitle('Activate your account');
  const token = location.hash.replace(/^#/, '');
  const { card, heading } = accountCard(
    root,
    'Activate your account',
    'Choose the password for your opslab account. The link works once.',
  );
  heading.id = 'activate-title';

  if (token === '') {
    card.append(
      message(
        'error',
        'This page needs the whole link an admin sent you (it ends in #…). Copy all of it into the address bar.',
        'activate-no-token',
      ),
    );
    heading.focus();
    return;
  }

  const alert = h('div', { class: 'status-area', role: 'alert' });
  const passwords = passwordFields('activate');
  const submit = h(
    'button',
    { type: 'submit', class: 'button button-primary', 'data-testid': 'activate-submit' },
    'Set password and sign in',
  );
  const form = h(
    'form',
    { class: 'staff-form', novalidate: true, 'aria-labelledby': 'activate-title', 'data-testid': 'activate-form' },
    // Lets password managers file the new password under an account (the email is not known here).
    h('input', { type: 'text', autocomplete: 'username', hidden: true, 'aria-hidden': 'true', tabindex: -1 }),
    passwords.password.wrap,
    passwords.confirm.wrap,
    h('div', { class: 'form-actions' }, submit),
  );
  card.append(alert, form);
  passwords.password.input.focus();

  let sending = false;
  scope.listen(form, 'submit', (event) => {
    event.preventDefault();
    void send();
  });

  async function send(): Promise<void> {
    if (sending) return;
    alert.replaceChildren();
    if (!checkNewPassword(passwords)) return;
    sending = true;
    const restore = busy(submit, 'Activating…');
    try {
      await activateAccount({ token, password: passwords.password.input.value }, scope.signal);
      navigate('/manage');
    } catch (err) {
      if (isAbort(err) || scope.disposed) return;
      restore();
      alert.append(message('error', errorText(err, 'The account could not be activated.'), 'activate-error'));
    } finally {
      sending = false;
    }
  }
}
