// `/manage/webhooks` (admins): the webhook endpoints that tell other systems (an applicant-tracking system) what
// happens: register one (its signing secret is shown once), change its events, enable or disable it, delete it,
// and read its delivery log, where a delivery can be sent again.

import '../../manage/webhooks.css';
import { isAbort, request } from '../../api.js';
import { h, type Scope } from '../../dom.js';
import { busy, formField, setFieldError, type FormField } from '../../manage/account-form.js';
import { staffPage } from '../../manage/layout.js';
import { addPanel, copyText, listPanel, statusBadge, timeCell } from '../../manage/widgets.js';
import type { PageContext } from '../../router.js';
import { confirmDialog } from '../../ui/dialog.js';
import { errorText } from '../../ui/errors.js';
import {
  WEBHOOK_EVENT_TYPES,
  type CreatedWebhook,
  type CreateWebhookBody,
  type UpdateWebhookBody,
  type WebhookDeliveryStatus,
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

const DELIVERY_TONE: Record<WebhookDeliveryStatus, 'live' | 'waiting' | 'stopped'> = {
  delivered: 'live',
  pending: 'waiting',
  failed: 'stopped',
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
  private readonly created = h('div', { 'data-testid': 'webhook-created-area' });
  private readonly listAlert = h('div', { class: 'status-area', role: 'alert' });
  private readonly listStatus = h('div', { class: 'status-area', role: 'status' });
  private readonly body = h('tbody');
  private readonly listTitle = h('h2', { id: 'webhook-list-title', class: 'section-title', tabindex: -1 }, 'Endpoints');
  private readonly log = h('section', { class: 'staff-section', 'aria-live': 'polite', 'data-testid': 'webhook-log' });
  private adding = false;
  private logFor: WebhookView | null = null;

  constructor(
    private readonly main: HTMLElement,
    private readonly scope: Scope,
  ) {
    this.url = formField('webhook-url', 'URL', { type: 'url', autocomplete: 'off', required: true, maxlength: 2000, placeholder: 'https://ats.example.com/hooks/opslab' });
    this.description = formField('webhook-description', 'Description (optional)', { type: 'text', autocomplete: 'off', maxlength: 200 });
    this.secret = formField('webhook-secret', 'Signing secret (optional: leave empty to have one generated)', { type: 'text', autocomplete: 'off', maxlength: 200 });
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
      addPanel('webhook-add-title', 'Register an endpoint', form, this.created),
      listPanel({
        title: this.listTitle,
        alert: this.listAlert,
        status: this.listStatus,
        testid: 'webhook-table',
        caption: 'Webhook endpoints',
        columns: ['URL', 'Events', 'Status', 'Waiting / failed'],
        body: this.body,
      }),
      this.log,
    );
    heading.focus({ preventScroll: true });
    scope.listen(form, 'submit', (event) => {
      event.preventDefault();
      void this.add();
    });
  }

  async load(): Promise<void> {
    try {
      const hooks = await webhooksApi.list(this.scope.signal);
      if (this.scope.disposed) return;
      this.listAlert.replaceChildren();
      this.render(hooks);
      if (this.logFor) {
        const current = hooks.find((w) => w.id === this.logFor!.id);
        if (current) await this.showLog(current, false);
        else this.closeLog();
      }
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.listAlert.replaceChildren(h('p', { class: 'message message-error' }, errorText(err, 'The webhooks could not be loaded.')));
    }
  }

  private render(hooks: WebhookView[]): void {
    if (hooks.length === 0) {
      this.body.replaceChildren(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No endpoint is registered.')));
      return;
    }
    this.body.replaceChildren(...hooks.map((hook) => this.row(hook)));
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
    this.scope.listen(logButton, 'click', () => void this.showLog(hook, true));
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
    const okSecret = setFieldError(this.secret, secret === '' || /^[\x21-\x7e]{16,200}$/.test(secret) ? null : 'A secret is 16 to 200 characters, without spaces.');
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
    const field = h('input', { type: 'text', readonly: true, value: hook.secret, 'aria-label': 'Signing secret', 'data-testid': 'webhook-created-secret' });
    const copy = h('button', { type: 'button', class: 'button' }, 'Copy secret');
    const copyStatus = h('p', { class: 'copy-status', role: 'status' });
    const title = h('h3', { class: 'copy-box-title', tabindex: -1 }, heading);
    this.scope.listen(copy, 'click', () => {
      void copyText(hook.secret, field).then((outcome) => {
        copyStatus.textContent = outcome === 'copied' ? 'Secret copied.' : 'The secret is selected: press Ctrl+C (or ⌘C) to copy it.';
      });
    });
    this.scope.listen(field, 'focus', () => field.select());
    this.created.replaceChildren(
      h(
        'div',
        { class: 'copy-box', 'data-testid': 'webhook-created' },
        title,
        h('p', {}, `Deliveries to ${hook.url} are signed with this secret. Give it to the receiving system now: it is not shown again.`),
        h('div', { class: 'copy-row' }, field, copy),
        copyStatus,
      ),
    );
    title.focus();
  }

  private async update(hook: WebhookView, body: UpdateWebhookBody, button: HTMLButtonElement): Promise<void> {
    const restore = busy(button, 'Saving…');
    try {
      const updated = await webhooksApi.update(hook.id, body, this.scope.signal);
      if (this.scope.disposed) return;
      this.listStatus.replaceChildren(
        h('p', { class: 'message message-info', 'data-testid': 'webhook-updated' }, `${updated.url}: ${updated.enabled ? 'enabled' : 'disabled'}, ${updated.events.length} event(s).`),
      );
      await this.load();
      this.listTitle.focus();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      restore();
      this.listAlert.replaceChildren(h('p', { class: 'message message-error' }, errorText(err, 'The endpoint could not be changed.')));
    }
  }

  private async rotate(hook: WebhookView, button: HTMLButtonElement): Promise<void> {
    const ok = await confirmDialog({
      title: 'Make a new signing secret?',
      body: `The next deliveries to ${hook.url} are signed with the new secret only: the receiving system must get it at once.`,
      confirmLabel: 'Make a new secret',
      signal: this.scope.signal,
    });
    if (!ok || this.scope.disposed) {
      if (!this.scope.disposed) button.focus();
      return;
    }
    const restore = busy(button, 'Making…');
    try {
      const rotated = await webhooksApi.rotate(hook.id, this.scope.signal);
      if (this.scope.disposed) return;
      restore();
      this.showSecret(rotated, 'New signing secret');
      this.created.scrollIntoView({ block: 'center' });
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      restore();
      this.listAlert.replaceChildren(h('p', { class: 'message message-error' }, errorText(err, 'The secret could not be changed.')));
    }
  }

  private async remove(hook: WebhookView, button: HTMLButtonElement): Promise<void> {
    const ok = await confirmDialog({
      title: 'Delete this endpoint?',
      body: `Nothing more is sent to ${hook.url}, and its delivery log is deleted with it.`,
      confirmLabel: 'Delete',
      signal: this.scope.signal,
    });
    if (!ok || this.scope.disposed) {
      if (!this.scope.disposed) button.focus();
      return;
    }
    const restore = busy(button, 'Deleting…');
    try {
      await webhooksApi.remove(hook.id, this.scope.signal);
      if (this.scope.disposed) return;
      this.listStatus.replaceChildren(h('p', { class: 'message message-info', 'data-testid': 'webhook-deleted' }, `${hook.url} was deleted.`));
      await this.load();
      this.listTitle.focus();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      restore();
      this.listAlert.replaceChildren(h('p', { class: 'message message-error' }, errorText(err, 'The endpoint could not be deleted.')));
    }
  }

  private closeLog(): void {
    this.logFor = null;
    this.log.replaceChildren();
  }

  /** The endpoint's delivery log (the newest 100), with a re-send button on each. */
  private async showLog(hook: WebhookView, focus: boolean): Promise<void> {
    this.logFor = hook;
    const title = h('h2', { class: 'section-title', tabindex: -1, id: 'webhook-log-title' }, `Deliveries to ${hook.url}`);
    const alert = h('div', { class: 'status-area', role: 'alert' });
    const refresh = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'webhook-log-refresh' }, 'Refresh');
    this.scope.listen(refresh, 'click', () => void this.showLog(hook, false));
    let rows: WebhookDeliveryView[];
    try {
      rows = await webhooksApi.deliveries(hook.id, this.scope.signal);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.log.replaceChildren(title, h('p', { class: 'message message-error' }, errorText(err, 'The delivery log could not be loaded.')));
      return;
    }
    if (this.scope.disposed || this.logFor?.id !== hook.id) return;
    const body = h(
      'tbody',
      {},
      ...(rows.length === 0
        ? [h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'Nothing was sent to this endpoint yet.'))]
        : rows.map((d) => {
            const resend = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'webhook-resend', 'aria-label': `Send ${d.type} ${d.eventId} again` }, 'Re-send');
            this.scope.listen(resend, 'click', () => {
              const restore = busy(resend, 'Sending…');
              webhooksApi
                .resend(hook.id, d.id, this.scope.signal)
                .then(() => (this.scope.disposed ? undefined : this.showLog(hook, false)))
                .catch((err: unknown) => {
                  if (isAbort(err) || this.scope.disposed) return;
                  restore();
                  alert.replaceChildren(h('p', { class: 'message message-error' }, errorText(err, 'The delivery could not be sent again.')));
                });
            });
            return h(
              'tr',
              { 'data-testid': 'webhook-delivery', 'data-status': d.status, 'data-tries': String(d.tries) },
              h('td', {}, h('code', {}, d.type), h('div', { class: 'muted' }, d.eventId)),
              h('td', {}, statusBadge(d.status[0]!.toUpperCase() + d.status.slice(1), DELIVERY_TONE[d.status], 'webhook-delivery-status')),
              h('td', {}, String(d.tries)),
              h('td', {}, d.lastStatus === null ? '—' : String(d.lastStatus)),
              h('td', { class: 'webhook-error' }, d.lastError ?? '—'),
              h('td', {}, timeCell(d.nextTryAt)),
              h('td', {}, timeCell(d.createdAt)),
              h('td', { class: 'col-actions' }, resend),
            );
          })),
    );
    this.log.replaceChildren(
      h('div', { class: 'staff-toolbar' }, title, refresh),
      alert,
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'staff-table', 'data-testid': 'webhook-log-table' },
          h('caption', { class: 'visually-hidden' }, `Deliveries to ${hook.url}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Event', 'Status', 'Tries', 'Last answer', 'Last error', 'Next try', 'Made'].map((t) => h('th', { scope: 'col' }, t)),
              h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'visually-hidden' }, 'Actions')),
            ),
          ),
          body,
        ),
      ),
    );
    if (focus) title.focus();
  }
}
