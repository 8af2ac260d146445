// `/activate#<token>`: the link an admin sends with a new account. Its owner chooses a password and is signed in.

import { h } from '../dom.js';
import { accountCard, accountForm, cardNotice, checkNewPassword, message, passwordFields } from '../manage/account-form.js';
import { activateAccount } from '../manage/session.js';
import type { PageContext } from '../router.js';
import { errorText } from '../ui/errors.js';
import { setDocumentTitle } from '../ui/layout.js';

export default function activatePage({ root, scope, navigate }: PageContext): void {
  setDocumentTitle('Activate your account');
  const token = location.hash.replace(/^#/, '');
  const card = accountCard(
    root,
    'activate',
    'Activate your account',
    'Choose the password for your opslab account. The link works once.',
  );

  if (token === '') {
    cardNotice(
      card,
      message(
        'error',
        'This page needs the whole link an admin sent you (it ends in #…). Copy all of it into the address bar.',
        'activate-no-token',
      ),
    );
    return;
  }

  const passwords = passwordFields('activate');
  const { alert, form } = accountForm({
    scope,
    id: 'activate',
    fields: [
      // Lets password managers file the new password under an account (the email is not known here).
      h('input', { type: 'text', autocomplete: 'username', hidden: true, 'aria-hidden': 'true', tabindex: -1 }),
      passwords.password.wrap,
      passwords.confirm.wrap,
    ],
    submitLabel: 'Set password and sign in',
    busyLabel: 'Activating…',
    check: () => checkNewPassword(passwords),
    send: async () => {
      await activateAccount({ token, password: passwords.password.input.value }, scope.signal);
      navigate('/manage');
    },
    failure: (err) => errorText(err, 'The account could not be activated.'),
  });
  card.card.append(alert, form);
  passwords.password.input.focus();
}
