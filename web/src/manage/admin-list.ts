// The list half of the admin pages that add things and list them (users, API tokens, webhooks): the table with its
// alert and status lines, loading it, the box that shows a new secret or link once, and the sequence behind a row's
// button (ask, mark it busy, call the server, say what happened, load the list again).

import { isAbort } from '../api.js';
import { h, type Scope } from '../dom.js';
import { confirmDialog, type ConfirmOptions } from '../ui/dialog.js';
import { errorText } from '../ui/errors.js';
import { busy } from './account-form.js';
import { copyMessage, copyText, listPanel } from './widgets.js';

export interface AdminListOptions<T> {
  /** Prefix of the ids and test ids: 'user' gives #user-list-title and [data-testid=user-table]. */
  prefix: string;
  /** The list's heading. */
  title: string;
  /** The table's caption, read by screen readers. */
  caption: string;
  /** The column heads (an "Actions" column follows). */
  columns: string[];
  list(signal: AbortSignal): Promise<T[]>;
  /** Fills `body` with the rows. */
  render(items: T[]): void;
  /** After each load that rendered (e.g. the webhooks page's delivery log follows its endpoint). */
  loaded?(items: T[]): void | Promise<void>;
  /** What the alert says when the list cannot be loaded. */
  loadError: string;
}

export interface ShowOnceOptions {
  heading: string;
  text: string;
  /** The secret or link, shown in a read-only field that selects itself on focus. */
  value: string;
  /** What is copied, in the copy status line: "Token copied.", "The token is selected: …". */
  noun: string;
  fieldLabel: string;
  fieldTestid: string;
  fieldClass?: string;
  copyLabel: string;
  copyTestid?: string;
  boxTestid: string;
}

export interface ActOptions<R> {
  /** Asked first; cancelling gives the focus back to the button. */
  confirm?: Omit<ConfirmOptions, 'signal'>;
  /** The button's label while the call runs. */
  busyLabel: string;
  run(signal: AbortSignal): Promise<R>;
  /** After the call succeeded; `restore` gives the button back (it is usually gone with its row). */
  then(result: R, restore: () => void): void | Promise<void>;
  /** What the alert says when the call fails. */
  error: string;
}

export class AdminList<T> {
  /** Where a new secret or link is shown once (goes into the page's add panel). */
  readonly created: HTMLElement;
  readonly alert = h('div', { class: 'status-area', role: 'alert' });
  readonly status = h('div', { class: 'status-area', role: 'status' });
  readonly body = h('tbody');
  readonly title: HTMLElement;
  readonly panel: HTMLElement;

  constructor(
    private readonly scope: Scope,
    private readonly opts: AdminListOptions<T>,
  ) {
    this.created = h('div', { 'data-testid': `${opts.prefix}-created-area` });
    this.title = h('h2', { id: `${opts.prefix}-list-title`, class: 'section-title', tabindex: -1 }, opts.title);
    this.panel = listPanel({
      title: this.title,
      alert: this.alert,
      status: this.status,
      testid: `${opts.prefix}-table`,
      caption: opts.caption,
      columns: opts.columns,
      body: this.body,
    });
  }

  /** Loads and renders the list; the items, or null when the page left or the server failed (the alert says so). */
  async load(): Promise<T[] | null> {
    try {
      const items = await this.opts.list(this.scope.signal);
      if (this.scope.disposed) return null;
      this.alert.replaceChildren();
      this.opts.render(items);
      await this.opts.loaded?.(items);
      return items;
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return null;
      this.alert.replaceChildren(h('p', { class: 'message message-error' }, errorText(err, this.opts.loadError)));
      return null;
    }
  }

  /**
   * Loads the list again, then says what was done above it and keeps the focus near it: the note and the list that
   * shows it appear together (a note over the old list would say "deleted" beside the deleted row).
   */
  async done(text: string, testid: string): Promise<void> {
    await this.load();
    if (this.scope.disposed) return;
    this.status.replaceChildren(h('p', { class: 'message message-info', 'data-testid': testid }, text));
    this.title.focus();
  }

  /** A row's action: ask (when `confirm`), mark the button busy, call, then `then`; a failure goes to the alert. */
  async act<R>(button: HTMLButtonElement, o: ActOptions<R>): Promise<void> {
    if (o.confirm) {
      const ok = await confirmDialog({ ...o.confirm, signal: this.scope.signal });
      if (!ok || this.scope.disposed) {
        if (!this.scope.disposed) button.focus();
        return;
      }
    }
    const restore = busy(button, o.busyLabel);
    try {
      const result = await o.run(this.scope.signal);
      if (this.scope.disposed) return;
      await o.then(result, restore);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      restore();
      this.alert.replaceChildren(h('p', { class: 'message message-error' }, errorText(err, o.error)));
    }
  }

  /** A secret or a link, shown once in `created` with a copy button; the server keeps only its hash. */
  showOnce(o: ShowOnceOptions): void {
    const field = h('input', {
      type: 'text',
      readonly: true,
      value: o.value,
      class: o.fieldClass ?? null,
      'aria-label': o.fieldLabel,
      'data-testid': o.fieldTestid,
    });
    const copy = h('button', { type: 'button', class: 'button', 'data-testid': o.copyTestid ?? null }, o.copyLabel);
    const copyStatus = h('p', { class: 'copy-status', role: 'status' });
    const title = h('h3', { class: 'copy-box-title', tabindex: -1 }, o.heading);
    this.scope.listen(copy, 'click', () => {
      void copyText(o.value, field).then((outcome) => {
        copyStatus.textContent = copyMessage(outcome, o.noun);
      });
    });
    this.scope.listen(field, 'focus', () => field.select());
    this.created.replaceChildren(
      h(
        'div',
        { class: 'copy-box', 'data-testid': o.boxTestid },
        title,
        h('p', {}, o.text),
        h('div', { class: 'copy-row' }, field, copy),
        copyStatus,
      ),
    );
    title.focus();
  }
}
