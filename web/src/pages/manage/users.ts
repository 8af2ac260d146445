// `/manage/users` (admins): the accounts, adding one (its activation link is shown once, with a copy button) and
// disabling one after a confirmation.

import { isAbort } from '../../api.js';
import { h, type Scope } from '../../dom.js';
import { busy, formField, setFieldError, type FormField } from '../../manage/account-form.js';
import { AdminList } from '../../manage/admin-list.js';
import { staffPage } from '../../manage/layout.js';
import { usersApi, type Role, type User } from '../../manage/session.js';
import { ACCOUNT_LIMITS } from '../../../../contract/auth.js';
import { addPanel, statusBadge, timeCell } from '../../manage/widgets.js';
import type { PageContext } from '../../router.js';
import { errorText } from '../../ui/errors.js';

const ROLE_LABEL: Record<Role, string> = { admin: 'Admin', interviewer: 'Interviewer' };

export default async function usersPage(ctx: PageContext): Promise<void> {
  const frame = await staffPage(ctx, 'Users', 'users');
  if (!frame || ctx.scope.disposed) return;
  if (frame.user.role !== 'admin') {
    frame.main.append(
      h('h1', {}, 'Users'),
      h('p', { class: 'message message-error', 'data-testid': 'users-forbidden' }, 'Only admins can manage users.'),
    );
    return;
  }
  const page = new UsersPage(frame.main, ctx.scope, frame.user);
  await page.load();
}

class UsersPage {
  private readonly formAlert = h('div', { class: 'status-area', role: 'alert' });
  private readonly name: FormField;
  private readonly email: FormField;
  private readonly role = h(
    'select',
    { id: 'user-role', name: 'role', 'data-testid': 'user-role' },
    h('option', { value: 'interviewer' }, ROLE_LABEL.interviewer),
    h('option', { value: 'admin' }, ROLE_LABEL.admin),
  );
  private readonly addButton = h(
    'button',
    { type: 'submit', class: 'button button-primary', 'data-testid': 'user-add' },
    'Add user',
  );
  private readonly list: AdminList<User>;
  private adding = false;

  constructor(
    private readonly main: HTMLElement,
    private readonly scope: Scope,
    private readonly me: User,
  ) {
    this.list = new AdminList(scope, {
      prefix: 'user',
      title: 'Accounts',
      caption: 'Accounts',
      columns: ['Name', 'Email', 'Role', 'Status', 'Added'],
      list: (signal) => usersApi.list(signal),
      render: (users) => this.render(users),
      loadError: 'The accounts could not be loaded.',
    });
    this.name = formField('user-name', 'Name', { type: 'text', autocomplete: 'off', required: true, maxlength: ACCOUNT_LIMITS.nameMax });
    this.email = formField('user-email', 'Email', { type: 'email', autocomplete: 'off', required: true, maxlength: ACCOUNT_LIMITS.emailMax });
    const form = h(
      'form',
      { class: 'staff-form', novalidate: true, 'aria-labelledby': 'user-add-title', 'data-testid': 'user-form' },
      this.formAlert,
      h(
        'div',
        { class: 'form-row' },
        this.name.wrap,
        this.email.wrap,
        h('div', { class: 'form-field' }, h('label', { for: 'user-role' }, 'Role'), this.role),
      ),
      h('div', { class: 'form-actions' }, this.addButton),
    );
    const heading = h('h1', { tabindex: -1 }, 'Users');
    this.main.append(
      heading,
      h(
        'p',
        { class: 'lead' },
        'Interviewers invite candidates and review attempts; admins also manage the accounts. ' +
          'A new account gets a one-time link with which its owner chooses a password.',
      ),
      h(
        'p',
        {},
        'Scripts (an applicant-tracking system) use ',
        h('a', { href: '/manage/tokens', 'data-testid': 'tokens-link' }, 'API tokens'),
        ' instead of an account.',
      ),
      addPanel('user-add-title', 'Add a user', form, this.list.created),
      this.list.panel,
    );
    heading.focus({ preventScroll: true });
    scope.listen(form, 'submit', (event) => {
      event.preventDefault();
      void this.add();
    });
  }

  async load(): Promise<void> {
    await this.list.load();
  }

  private render(users: User[]): void {
    this.list.body.replaceChildren(
      ...users.map((user) => {
        const self = user.id === this.me.id;
        let action: HTMLElement | string = '';
        if (!user.disabled && !self) {
          const button = h(
            'button',
            { type: 'button', class: 'button button-small', 'data-testid': 'user-disable', 'aria-label': `Disable ${user.name}` },
            'Disable',
          );
          this.scope.listen(button, 'click', () => void this.disable(user, button));
          action = button;
        } else if (self) {
          action = h('span', { class: 'muted' }, 'You');
        }
        return h(
          'tr',
          { 'data-testid': 'user-row', 'data-email': user.email, 'data-disabled': String(user.disabled) },
          h('td', {}, user.name),
          h('td', {}, user.email),
          h('td', {}, ROLE_LABEL[user.role] ?? user.role),
          h(
            'td',
            {},
            user.disabled
              ? statusBadge('Disabled', 'stopped', 'user-status')
              : statusBadge('Active', 'live', 'user-status'),
          ),
          h('td', {}, timeCell(user.createdAt)),
          h('td', { class: 'col-actions' }, action),
        );
      }),
    );
  }

  private async add(): Promise<void> {
    if (this.adding) return;
    this.formAlert.replaceChildren();
    const name = this.name.input.value.trim();
    const email = this.email.input.value.trim();
    const okName = setFieldError(this.name, name === '' ? 'Enter their name.' : null);
    const okEmail = setFieldError(this.email, /^[^\s@]+@[^\s@]+$/.test(email) ? null : 'Enter an email address.');
    if (!okName) return this.name.input.focus();
    if (!okEmail) return this.email.input.focus();

    this.adding = true;
    const restore = busy(this.addButton, 'Adding…');
    try {
      const { user, activationUrl } = await usersApi.create({ name, email, role: this.role.value as Role }, this.scope.signal);
      if (this.scope.disposed) return;
      this.name.input.value = '';
      this.email.input.value = '';
      this.showLink(user, activationUrl);
      await this.load();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.formAlert.replaceChildren(
        h('p', { class: 'message message-error', 'data-testid': 'user-add-error' }, errorText(err, 'The account could not be added.')),
      );
    } finally {
      this.adding = false;
      restore();
    }
  }

  /** The activation link, once: the server keeps only its hash. */
  private showLink(user: User, url: string): void {
    this.list.showOnce({
      heading: `${user.name} was added`,
      text:
        `Send this link to ${user.email}. It lets them choose a password, works once and expires in 7 days. ` +
        'It is not shown again.',
      value: url,
      noun: 'link',
      fieldLabel: `Activation link for ${user.name}`,
      fieldTestid: 'activation-link',
      copyLabel: 'Copy link',
      copyTestid: 'activation-copy',
      boxTestid: 'user-created',
    });
  }

  private disable(user: User, button: HTMLButtonElement): Promise<void> {
    return this.list.act(button, {
      confirm: {
        title: `Disable ${user.name}?`,
        body: `${user.name} (${user.email}) is signed out at once and can no longer sign in. Their invites and reviews stay.`,
        confirmLabel: 'Disable',
      },
      busyLabel: 'Disabling…',
      run: (signal) => usersApi.disable(user.id, signal),
      then: () => this.list.done(`${user.name} is disabled.`, 'user-disabled-note'),
      error: 'The account could not be disabled.',
    });
  }
}
