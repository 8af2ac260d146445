// The delivery log of one webhook endpoint on the webhooks page: its newest deliveries with their status, tries and
// last answer, each with a button that sends it again.

import { isAbort } from '../api.js';
import { h, type Scope } from '../dom.js';
import { errorText } from '../ui/errors.js';
import { busy } from './account-form.js';
import { statusBadge, timeCell } from './widgets.js';
import type { WebhookDeliveryStatus, WebhookDeliveryView, WebhookView } from '../../../contract/webhooks.js';

const DELIVERY_TONE: Record<WebhookDeliveryStatus, 'live' | 'waiting' | 'stopped'> = {
  delivered: 'live',
  pending: 'waiting',
  failed: 'stopped',
};

export interface DeliveryLogApi {
  deliveries(id: string, signal: AbortSignal): Promise<WebhookDeliveryView[]>;
  resend(id: string, deliveryId: string, signal: AbortSignal): Promise<unknown>;
}

export class DeliveryLog {
  readonly element = h('section', { class: 'staff-section', 'aria-live': 'polite', 'data-testid': 'webhook-log' });
  /** The endpoint whose log is shown. */
  private showing: WebhookView | null = null;

  constructor(
    private readonly scope: Scope,
    private readonly api: DeliveryLogApi,
  ) {}

  close(): void {
    this.showing = null;
    this.element.replaceChildren();
  }

  /** After the list was loaded again: the log shown follows its endpoint, and closes when it is gone. */
  async follow(hooks: WebhookView[]): Promise<void> {
    if (!this.showing) return;
    const current = hooks.find((w) => w.id === this.showing!.id);
    if (current) await this.show(current, false);
    else this.close();
  }

  /** The endpoint's delivery log (the newest 100), with a re-send button on each. */
  async show(hook: WebhookView, focus: boolean): Promise<void> {
    this.showing = hook;
    const title = h('h2', { class: 'section-title', tabindex: -1, id: 'webhook-log-title' }, `Deliveries to ${hook.url}`);
    const alert = h('div', { class: 'status-area', role: 'alert' });
    const refresh = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'webhook-log-refresh' }, 'Refresh');
    this.scope.listen(refresh, 'click', () => void this.show(hook, false));
    let rows: WebhookDeliveryView[];
    try {
      rows = await this.api.deliveries(hook.id, this.scope.signal);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.element.replaceChildren(title, h('p', { class: 'message message-error' }, errorText(err, 'The delivery log could not be loaded.')));
      return;
    }
    if (this.scope.disposed || this.showing?.id !== hook.id) return;
    const body = h(
      'tbody',
      {},
      ...(rows.length === 0
        ? [h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'Nothing was sent to this endpoint yet.'))]
        : rows.map((d) => {
            const resend = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'webhook-resend', 'aria-label': `Send ${d.type} ${d.eventId} again` }, 'Re-send');
            this.scope.listen(resend, 'click', () => {
              const restore = busy(resend, 'Sending…');
              this.api
                .resend(hook.id, d.id, this.scope.signal)
                .then(() => (this.scope.disposed ? undefined : this.show(hook, false)))
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
    this.element.replaceChildren(
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
