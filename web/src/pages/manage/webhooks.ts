// `/manage/webhooks` (admins): the webhook endpoints that tell other systems (an applicant-tracking system) what
// happens: register one (its signing secret is shown once), change its events, enable or disable it, delete it,
// and read its delivery log, where a delivery can be sent again.

import '../../manage/webhooks.css';
import { isAbort, request } from '../../api.js';
import { h, type Scope } from '../../dom.js';
import { busy, formField, setFieldError, type FormField } from '../../manage/account-form.js';
import { AdminList } from '../../manage/admin-list.js';
import { staffPage } from '../../manage/layout.js';
import { DeliveryLog } from '../../manage/webhook-log.js';
import { addPanel, statusBadge } from '../../manage/widgets.js';
import type { PageContext } from '../../router.js';
import { errorText } from '../../ui/errors.js';
import {
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_LIMITS,
  WEBHOOK_SECRET_PATTERN,
  type CreatedWebhook,
  type CreateWebhookBody,
  type UpdateWebhookBody,
  type WebhookDeliveryView,
  type WebhookEventType,
  type WebhookView,
} from '../../../../contract/webhooks.js';

const EVENT_LABEL: Record<WebhookEventType, string> = {
  'invite.started': 'A candidate started an invite',
  'attempt.submitted': 'An attempt was submitted',
  'attempt.expired': 'An attempt ran out of time (or its invite was withdrawn)',
  'attempt.graded': 'An attempt was graded',
  'review.completed': 'A reviewer saved a scorecard',
};

const base = '/api/manage/webhooks';
const webhooksApi = {
  list: async (signal: AbortSignal) => (await request<{ webhooks: WebhookView[] }>(base, { signal })).webhooks,
  create: async (body: CreateWebhookBody, signal: AbortSignal) =>
    (await request<{ webhook: CreatedWebhook }>(base, { method: 'POST', body, signal })).webhook,
  update: async (id: string, body: UpdateWebhookBody, signal: AbortSignal) =>
    (await request<{ webhook: WebhookView }>(`${base}/${encodeURIComponent(id)}`, { method: 'PATCH', body, signal })).webhook,
  rotate: async (id: string, signal: AbortSignal) =>
    (await request<{ webhook: CreatedWebhook }>(`${base}/${encodeURIComponent(id)}/secret`, { method: 'POST', signal })).webhook,
  remove: (id: string, signal: AbortSignal) => request<null>(`${base}/${encodeURIComponent(id)}`, { method: 'DELETE', signal }),
  deliveries: async (id: string, signal: AbortSignal) =>
    (await request<{ deliveries: WebhookDeliveryView[] }>(`${base}/${encodeURIComponent(id)}/deliveries`, { signal })).deliveries,
  resend: async (id: string, deliveryId: string, signal: AbortSignal) =>
    (
      await request<{ delivery: WebhookDeliveryView }>(
        `${base}/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(deliveryId)}/resend`,
        { method: 'POST', signal },
      )
    ).delivery,
};

export default async function webhooksPage(ctx: PageContext): Promise<void> {
  const frame = await staffPage(ctx, 'Webhooks', 'webhooks');
  if (!frame || ctx.scope.disposed) return;
  if (frame.user.role !== 'admin') {
    frame.main.append(
      h('h1', {}, 'Webhooks'),
      h('p', { class: 'message message-error', 'data-testid': 'webhooks-forbidden' }, 'Only admins can manage webhooks.'),
    );
    return;
  }
  const page = new WebhooksPage(frame.main, ctx.scope);
  await page.load();
}

/** One checkbox per event type; all checked unless `checked` says otherwise. */
function eventChoices(prefix: string, checked: readonly WebhookEventType[] = WEBHOOK_EVENT_TYPES): {
  fieldset: HTMLElement;
  selected: () => WebhookEventType[];
} {
  const boxes = WEBHOOK_EVENT_TYPES.map((type) => {
    const input = h('input', { type: 'checkbox', id: `${prefix}-${type}`, value: type, 'data-testid': `${prefix}-event` });
    input.checked = checked.includes(type);
    return { type, input };
  });
  const fieldset = h(
    'fieldset',
    { class: 'form-field webhook-events' },
    h('legend', {}, 'Events'),
    ...boxes.map(({ type, input }) =>
      h('div', { class: 'checkbox-row' }, input, h('label', { for: input.id }, h('code', {}, type), ` ${EVENT_LABEL[type]}`)),
    ),
  );
  return { fieldset, selected: () => boxes.filter((b) => b.input.checked).map((b) => b.type) };
}

class WebhooksPage {
  private readonly formAlert = h('div', { class: 'status-area', role: 'alert' });
  private readonly url: FormField;
  private readonly description: FormField;
  private readonly secret: FormField;
  private readonly events = eventChoices('webhook-new');
  private readonly addButton = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'webhook-add' }, 'Register');
  private readonly list: AdminList<WebhookView>;
  private readonly log: DeliveryLog;
  private adding = false;

  constructor(
    private readonly main: HTMLElement,
    private readonly scope: Scope,
  ) {
    this.list = new AdminList(scope, {
      prefix: 'webhook',
      title: 'Endpoints',
      caption: 'Webhook endpoints',
      columns: ['URL', 'Events', 'Status', 'Waiting / failed'],
      list: (signal) => webhooksApi.list(signal),
      render: (hooks) => this.render(hooks),
      loaded: (hooks) => this.log.follow(hooks),
      loadError: 'The webhooks could not be loaded.',
    });
    this.log = new DeliveryLog(scope, webhooksApi);
    this.url = formField('webhook-url', 'URL', { type: 'url', autocomplete: 'off', required: true, maxlength: WEBHOOK_LIMITS.url, placeholder: 'https://ats.example.com/hooks/opslab' });
    this.description = formField('webhook-description', 'Description (optional)', { type: 'text', autocomplete: 'off', maxlength: WEBHOOK_LIMITS.description });
    this.secret = formField('webhook-secret', 'Signing secret (optional: leave empty to have one generated)', { type: 'text', autocomplete: 'off', maxlength: WEBHOOK_LIMITS.secret.max });
    const form = h(
      'form',
      { class: 'staff-form', novalidate: true, 'aria-labelledby': 'webhook-add-title', 'data-testid': 'webhook-form' },
      this.formAlert,
      h('div', { class: 'form-row' }, this.url.wrap, this.description.wrap),
      h('div', { class: 'form-row' }, this.secret.wrap),
      this.events.fieldset,
      h('div', { class: 'form-actions' }, this.addButton),
    );
    const heading = h('h1', { tabindex: -1 }, 'Webhooks');
    this.main.append(
      heading,
      h(
        'p',
        { class: 'lead' },
        'Tell another system (an applicant-tracking system) when a candidate starts, submits or runs out of time, when ' +
          'an attempt is graded and when a reviewer saves a scorecard. Each delivery is a signed JSON POST, retried for ' +
          'about a day; see the API documentation for how to check the signature. Payloads carry ids and results, never ' +
          'links or candidate details.',
      ),
      addPanel('webhook-add-title', 'Register an endpoint', form, this.list.created),
      this.list.panel,
      this.log.element,
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

  private render(hooks: WebhookView[]): void {
    if (hooks.length === 0) {
      this.list.body.replaceChildren(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No endpoint is registered.')));
      return;
    }
    this.list.body.replaceChildren(...hooks.map((hook) => this.row(hook)));
  }

  private row(hook: WebhookView): HTMLElement {
    const button = (label: string, testid: string, aria: string) =>
      h('button', { type: 'button', class: 'button button-small', 'data-testid': testid, 'aria-label': `${aria} ${hook.url}` }, label);
    const toggle = button(hook.enabled ? 'Disable' : 'Enable', 'webhook-toggle', hook.enabled ? 'Disable' : 'Enable');
    const edit = button('Edit events', 'webhook-edit', 'Edit the events of');
    const logButton = button('Deliveries', 'webhook-deliveries', 'Show the deliveries to');
    const rotate = button('New secret', 'webhook-rotate', 'Make a new signing secret for');
    const remove = button('Delete', 'webhook-delete', 'Delete');
    const eventsCell = h('td', {}, h('ul', { class: 'plain-list' }, ...hook.events.map((e) => h('li', {}, h('code', {}, e)))));
    this.scope.listen(toggle, 'click', () => void this.update(hook, { enabled: !hook.enabled }, toggle));
    this.scope.listen(edit, 'click', () => this.editEvents(hook, eventsCell, edit));
    this.scope.listen(logButton, 'click', () => void this.log.show(hook, true));
    this.scope.listen(rotate, 'click', () => void this.rotate(hook, rotate));
    this.scope.listen(remove, 'click', () => void this.remove(hook, remove));
    return h(
      'tr',
      { 'data-testid': 'webhook-row', 'data-id': hook.id, 'data-enabled': String(hook.enabled) },
      h('td', {}, h('div', { class: 'webhook-url' }, hook.url), hook.description ? h('div', { class: 'muted' }, hook.description) : null),
      eventsCell,
      h('td', {}, hook.enabled ? statusBadge('Enabled', 'live', 'webhook-status') : statusBadge('Disabled', 'stopped', 'webhook-status')),
      h('td', { 'data-testid': 'webhook-counts' }, `${hook.pending} / ${hook.failed}`),
      h('td', { class: 'col-actions' }, h('div', { class: 'button-row' }, edit, toggle, logButton, rotate, remove)),
    );
  }

  private editEvents(hook: WebhookView, cell: HTMLElement, trigger: HTMLButtonElement): void {
    const choices = eventChoices(`webhook-edit-${hook.id}`, hook.events);
    const save = h('button', { type: 'button', class: 'button button-small button-primary', 'data-testid': 'webhook-edit-save' }, 'Save events');
    const cancel = h('button', { type: 'button', class: 'button button-small' }, 'Cancel');
    const error = h('p', { class: 'field-error', role: 'alert' });
    cell.replaceChildren(choices.fieldset, error, h('div', { class: 'button-row' }, save, cancel));
    trigger.disabled = true;
    this.scope.listen(cancel, 'click', () => void this.load());
    this.scope.listen(save, 'click', () => {
      const events = choices.selected();
      if (events.length === 0) {
        error.textContent = 'Choose at least one event.';
        return;
      }
      void this.update(hook, { events }, save);
    });
  }

  private async add(): Promise<void> {
    if (this.adding) return;
    this.formAlert.replaceChildren();
    const url = this.url.input.value.trim();
    const description = this.description.input.value.trim();
    const secret = this.secret.input.value.trim();
    const events = this.events.selected();
    const okUrl = setFieldError(this.url, /^https?:\/\/\S+$/i.test(url) ? null : 'Enter an http:// or https:// URL.');
    const { min, max } = WEBHOOK_LIMITS.secret;
    const secretOk = secret === '' || (new RegExp(WEBHOOK_SECRET_PATTERN).test(secret) && secret.length >= min && secret.length <= max);
    const okSecret = setFieldError(this.secret, secretOk ? null : `A secret is ${min} to ${max} characters, without spaces.`);
    if (!okUrl) return this.url.input.focus();
    if (!okSecret) return this.secret.input.focus();
    if (events.length === 0) {
      this.formAlert.replaceChildren(h('p', { class: 'message message-error' }, 'Choose at least one event.'));
      return;
    }
    this.adding = true;
    const restore = busy(this.addButton, 'Registering…');
    try {
      const created = await webhooksApi.create(
        { url, events, ...(description ? { description } : {}), ...(secret ? { secret } : {}) },
        this.scope.signal,
      );
      if (this.scope.disposed) return;
      this.url.input.value = '';
      this.description.input.value = '';
      this.secret.input.value = '';
      this.showSecret(created);
      await this.load();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.formAlert.replaceChildren(
        h('p', { class: 'message message-error', 'data-testid': 'webhook-add-error' }, errorText(err, 'The endpoint could not be registered.')),
      );
    } finally {
      this.adding = false;
      restore();
    }
  }

  /** The signing secret, once: the list never shows it again. */
  private showSecret(hook: CreatedWebhook, heading = 'Endpoint registered'): void {
    this.list.showOnce({
      heading,
      text: `Deliveries to ${hook.url} are signed with this secret. Give it to the receiving system now: it is not shown again.`,
      value: hook.secret,
      noun: 'secret',
      fieldLabel: 'Signing secret',
      fieldTestid: 'webhook-created-secret',
      copyLabel: 'Copy secret',
      boxTestid: 'webhook-created',
    });
  }

  private update(hook: WebhookView, body: UpdateWebhookBody, button: HTMLButtonElement): Promise<void> {
    return this.list.act(button, {
      busyLabel: 'Saving…',
      run: (signal) => webhooksApi.update(hook.id, body, signal),
      then: (updated) =>
        this.list.done(`${updated.url}: ${updated.enabled ? 'enabled' : 'disabled'}, ${updated.events.length} event(s).`, 'webhook-updated'),
      error: 'The endpoint could not be changed.',
    });
  }

  private rotate(hook: WebhookView, button: HTMLButtonElement): Promise<void> {
    return this.list.act(button, {
      confirm: {
        title: 'Make a new signing secret?',
        body: `The next deliveries to ${hook.url} are signed with the new secret only: the receiving system must get it at once.`,
        confirmLabel: 'Make a new secret',
      },
      busyLabel: 'Making…',
      run: (signal) => webhooksApi.rotate(hook.id, signal),
      then: (rotated, restore) => {
        restore();
        this.showSecret(rotated, 'New signing secret');
        this.list.created.scrollIntoView({ block: 'center' });
      },
      error: 'The secret could not be changed.',
    });
  }

  private remove(hook: WebhookView, button: HTMLButtonElement): Promise<void> {
    return this.list.act(button, {
      confirm: {
        title: 'Delete this endpoint?',
        body: `Nothing more is sent to ${hook.url}, and its delivery log is deleted with it.`,
        confirmLabel: 'Delete',
      },
      busyLabel: 'Deleting…',
      run: (signal) => webhooksApi.remove(hook.id, signal),
      then: () => this.list.done(`${hook.url} was deleted.`, 'webhook-deleted'),
      error: 'The endpoint could not be deleted.',
    });
  }
}
