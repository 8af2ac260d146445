// `/manage/tokens` (admins): API tokens for scripts. Create one (name, scopes, expiry) and see its secret once with a
// copy button; list them (scopes, creator, last use, status) and revoke one after a confirmation.

import './tokens.css';
import { isAbort, request } from '../../api.js';
import { h, type Scope } from '../../dom.js';
import { busy, formField, setFieldError, type FormField } from '../../manage/account-form.js';
import { AdminList } from '../../manage/admin-list.js';
import { staffPage } from '../../manage/layout.js';
import { addPanel, statusBadge, timeCell } from '../../manage/widgets.js';
import type { PageContext } from '../../router.js';
import { errorText } from '../../ui/errors.js';
import {
  API_SCOPES,
  API_TOKEN_NAME_MAX,
  API_TOKEN_NAME_PATTERN,
  type ApiScope,
  type ApiTokenView,
  type CreateApiTokenBody,
  type CreatedApiToken,
} from '../../../../contract/index.js';

const SCOPE_TEXT: Record<ApiScope, string> = {
  'invites:write': 'create, list, revoke, extend and reissue invites, and read their links',
  'attempts:read': 'list attempts, export them as CSV, read an attempt’s grade and checks, download its recording',
  'reviews:read': 'read an attempt’s review (reviews, scorecards, diff, commands) and its HTML, JSON and JUnit exports',
};

const EXPIRY_CHOICES: [string, string][] = [
  ['30', '30 days'],
  ['90', '90 days'],
  ['365', 'One year'],
  ['7', '7 days'],
  ['', 'Never (until revoked)'],
];

const tokensApi = {
  async list(signal?: AbortSignal): Promise<ApiTokenView[]> {
    return (await request<{ tokens: ApiTokenView[] }>('/api/manage/tokens', { signal })).tokens;
  },
  /** The secret comes back once; only its hash stays on the server. */
  async create(input: CreateApiTokenBody, signal?: AbortSignal): Promise<CreatedApiToken> {
    return request<CreatedApiToken>('/api/manage/tokens', { method: 'POST', body: input, signal });
  },
  async revoke(id: string, signal?: AbortSignal): Promise<ApiTokenView> {
    return (await request<{ token: ApiTokenView }>(`/api/manage/tokens/${encodeURIComponent(id)}/revoke`, { method: 'POST', signal }))
      .token;
  },
};

export default async function tokensPage(ctx: PageContext): Promise<void> {
  const frame = await staffPage(ctx, 'API tokens', 'users');
  if (!frame || ctx.scope.disposed) return;
  if (frame.user.role !== 'admin') {
    frame.main.append(
      h('h1', {}, 'API tokens'),
      h('p', { class: 'message message-error', 'data-testid': 'tokens-forbidden' }, 'Only admins can manage API tokens.'),
    );
    return;
  }
  const page = new TokensPage(frame.main, ctx.scope);
  await page.load();
}

class TokensPage {
  private readonly formAlert = h('div', { class: 'status-area', role: 'alert' });
  private readonly name: FormField;
  private readonly scopes = new Map<ApiScope, HTMLInputElement>();
  private readonly scopesError = h('p', { id: 'token-scopes-error', class: 'field-error', 'data-testid': 'token-scopes-error' });
  private readonly expiry = h(
    'select',
    { id: 'token-expiry', name: 'expiry', 'data-testid': 'token-expiry' },
    ...EXPIRY_CHOICES.map(([value, label]) => h('option', { value }, label)),
  );
  private readonly createButton = h(
    'button',
    { type: 'submit', class: 'button button-primary', 'data-testid': 'token-create' },
    'Create token',
  );
  private readonly list: AdminList<ApiTokenView>;
  private creating = false;

  constructor(
    private readonly main: HTMLElement,
    private readonly scope: Scope,
  ) {
    this.list = new AdminList(scope, {
      prefix: 'token',
      title: 'Tokens',
      caption: 'API tokens',
      columns: ['Name', 'Scopes', 'Created by', 'Created', 'Expires', 'Last used', 'Status'],
      list: (signal) => tokensApi.list(signal),
      render: (tokens) => this.render(tokens),
      loadError: 'The tokens could not be loaded.',
    });
    this.name = formField(
      'token-name',
      'Name',
      { type: 'text', autocomplete: 'off', required: true, maxlength: API_TOKEN_NAME_MAX },
      'What uses it, e.g. ats-sync; the audit log shows it',
    );
    const scopeBoxes = API_SCOPES.map((s) => {
      const id = `token-scope-${s.replace(':', '-')}`;
      const box = h('input', { type: 'checkbox', id, value: s, 'data-testid': id, 'aria-describedby': 'token-scopes-error' });
      this.scopes.set(s, box);
      return h(
        'div',
        { class: 'form-check' },
        box,
        h('label', { for: id }, h('span', { class: 'scope-name' }, s), ` — ${SCOPE_TEXT[s]}`),
      );
    });
    const form = h(
      'form',
      { class: 'staff-form', novalidate: true, 'aria-labelledby': 'token-add-title', 'data-testid': 'token-form' },
      this.formAlert,
      h(
        'div',
        { class: 'form-row' },
        this.name.wrap,
        h('div', { class: 'form-field' }, h('label', { for: 'token-expiry' }, 'Expires'), this.expiry),
      ),
      h('fieldset', { class: 'token-scopes' }, h('legend', {}, 'Scopes'), ...scopeBoxes, this.scopesError),
      h('div', { class: 'form-actions' }, this.createButton),
    );
    const heading = h('h1', { tabindex: -1 }, 'API tokens');
    this.main.append(
      heading,
      h(
        'p',
        { class: 'lead' },
        'Scripts such as an applicant-tracking system use a token instead of an account: ',
        h('code', {}, 'Authorization: Bearer <token>'),
        '. A token may use only the routes of its scopes; it acts as the admin who created it, with an interviewer’s ' +
          'rights, and everything it does is in the audit log under its name. ',
        h('a', { href: '/manage/users' }, 'Back to users'),
      ),
      addPanel('token-add-title', 'Create a token', form, this.list.created),
      this.list.panel,
    );
    heading.focus({ preventScroll: true });
    scope.listen(form, 'submit', (event) => {
      event.preventDefault();
      void this.create();
    });
  }

  async load(): Promise<void> {
    await this.list.load();
  }

  private render(tokens: ApiTokenView[]): void {
    if (tokens.length === 0) {
      this.list.body.replaceChildren(
        h('tr', {}, h('td', { colspan: 8, class: 'muted', 'data-testid': 'tokens-empty' }, 'No API tokens yet.')),
      );
      return;
    }
    this.list.body.replaceChildren(
      ...tokens.map((token) => {
        let action: HTMLElement | string = '';
        if (token.status === 'active' || token.status === 'expired') {
          const button = h(
            'button',
            { type: 'button', class: 'button button-small', 'data-testid': 'token-revoke', 'aria-label': `Revoke ${token.name}` },
            'Revoke',
          );
          this.scope.listen(button, 'click', () => void this.revoke(token, button));
          action = button;
        }
        const badge =
          token.status === 'active'
            ? statusBadge('Active', 'live', 'token-status')
            : statusBadge(token.status === 'revoked' ? 'Revoked' : 'Expired', 'stopped', 'token-status');
        return h(
          'tr',
          { 'data-testid': 'token-row', 'data-name': token.name, 'data-status': token.status },
          h('td', {}, token.name, h('br'), h('span', { class: 'muted token-secret' }, `${token.prefix}…`)),
          h('td', {}, h('ul', { class: 'token-scope-list' }, ...token.scopes.map((s) => h('li', {}, s)))),
          h('td', {}, token.createdBy.name),
          h('td', {}, timeCell(token.createdAt)),
          h('td', {}, token.expiresAt ? timeCell(token.expiresAt) : 'Never'),
          h('td', { 'data-testid': 'token-last-used' }, token.lastUsedAt ? timeCell(token.lastUsedAt) : 'Never'),
          h('td', {}, badge),
          h('td', { class: 'col-actions' }, action),
        );
      }),
    );
  }

  private async create(): Promise<void> {
    if (this.creating) return;
    this.formAlert.replaceChildren();
    const name = this.name.input.value.trim();
    const scopes = API_SCOPES.filter((s) => this.scopes.get(s)!.checked);
    const okName = setFieldError(
      this.name,
      name === ''
        ? 'Enter a name.'
        : new RegExp(API_TOKEN_NAME_PATTERN).test(name)
          ? null
          : `Use letters, digits, spaces, dots, dashes and underscores (at most ${API_TOKEN_NAME_MAX}), starting with a letter or digit.`,
    );
    this.scopesError.textContent = scopes.length === 0 ? 'Choose at least one scope.' : '';
    if (!okName) return this.name.input.focus();
    if (scopes.length === 0) return this.scopes.get(API_SCOPES[0])!.focus();

    this.creating = true;
    const restore = busy(this.createButton, 'Creating…');
    try {
      const body: CreateApiTokenBody = { name, scopes };
      if (this.expiry.value !== '') body.expiresInDays = Number(this.expiry.value);
      const { token, secret } = await tokensApi.create(body, this.scope.signal);
      if (this.scope.disposed) return;
      this.name.input.value = '';
      for (const box of this.scopes.values()) box.checked = false;
      this.showSecret(token, secret);
      await this.load();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.formAlert.replaceChildren(
        h('p', { class: 'message message-error', 'data-testid': 'token-create-error' }, errorText(err, 'The token could not be created.')),
      );
    } finally {
      this.creating = false;
      restore();
    }
  }

  /** The secret, once: the server keeps only its hash. */
  private showSecret(token: ApiTokenView, secret: string): void {
    this.list.showOnce({
      heading: `${token.name} was created`,
      text:
        'Copy the token now and store it where the script reads its secrets. It is not shown again: ' +
        'if it is lost, revoke it and create another.',
      value: secret,
      noun: 'token',
      fieldLabel: `Secret of the token ${token.name}`,
      fieldTestid: 'token-secret',
      fieldClass: 'token-secret',
      copyLabel: 'Copy token',
      copyTestid: 'token-copy',
      boxTestid: 'token-created',
    });
  }

  private revoke(token: ApiTokenView, button: HTMLButtonElement): Promise<void> {
    return this.list.act(button, {
      confirm: {
        title: `Revoke ${token.name}?`,
        body: `Scripts using ${token.name} are refused from their next request on. This cannot be undone.`,
        confirmLabel: 'Revoke',
      },
      busyLabel: 'Revoking…',
      run: (signal) => tokensApi.revoke(token.id, signal),
      then: () => this.list.done(`${token.name} is revoked.`, 'token-revoked-note'),
      error: 'The token could not be revoked.',
    });
  }
}
