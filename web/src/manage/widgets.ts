// Small pieces the invites page, the dashboard and the live view share: status badges that carry their text,
// dates as <time>, copying a link with a fallback, a dialog that asks for a number of minutes, and the frame of the
// admin pages that add things and list them (users, API tokens, webhooks).

import './widgets.css';
import type { AttemptState, EndReason } from '../api.js';
import { h } from '../dom.js';
import type { InviteStatus } from './api.js';
import type { GradingState } from '../../../contract/attempts.js';

const INVITE_STATUS_LABEL: Record<InviteStatus, string> = {
  pending: 'Pending',
  running: 'Running',
  finished: 'Finished',
  expired: 'Expired',
  revoked: 'Revoked',
  failed: 'Failed',
};

const ATTEMPT_STATE_LABEL: Record<AttemptState, string> = {
  created: 'Starting',
  running: 'Running',
  submitted: 'Submitted',
  expired: 'Time ran out',
  archived: 'Ended',
  failed: 'Failed',
};

const END_REASON_LABEL: Record<EndReason, string> = {
  submitted: 'Submitted',
  expired: 'Time ran out',
  revoked: 'Revoked',
  preempted: 'Stopped for an interview',
};

export function inviteStatusLabel(status: InviteStatus): string {
  return INVITE_STATUS_LABEL[status] ?? status;
}

export function attemptStateLabel(state: AttemptState, endReason: EndReason | null = null): string {
  const ended = state === 'submitted' || state === 'expired' || state === 'archived';
  if (ended && endReason) return END_REASON_LABEL[endReason] ?? ATTEMPT_STATE_LABEL[state];
  return ATTEMPT_STATE_LABEL[state] ?? state;
}

/** The filter's wording of an attempt state (the raw state, which the server filters on). */
export function attemptStateFilterLabel(state: AttemptState): string {
  return state === 'archived' ? 'Ended, sandbox removed' : (ATTEMPT_STATE_LABEL[state] ?? state);
}

/**
 * A badge whose word says the status; the colour only repeats it. `tone` picks the colour and a leading mark
 * (● live, ✓ done, ✕ stopped, ○ waiting) so it also reads in greyscale.
 */
export function statusBadge(label: string, tone: 'live' | 'waiting' | 'done' | 'stopped' | 'neutral', testid?: string): HTMLElement {
  const mark = { live: '●', waiting: '○', done: '✓', stopped: '✕', neutral: '–' }[tone];
  return h(
    'span',
    { class: `status-badge status-${tone}`, 'data-testid': testid ?? null, 'data-tone': tone },
    h('span', { class: 'status-mark', 'aria-hidden': 'true' }, mark),
    label,
  );
}

export function inviteStatusBadge(status: InviteStatus): HTMLElement {
  const tone = status === 'running' ? 'live' : status === 'pending' ? 'waiting' : status === 'finished' ? 'done' : 'stopped';
  const badge = statusBadge(inviteStatusLabel(status), tone, 'invite-status');
  badge.dataset['status'] = status;
  return badge;
}

/** Where an attempt's grading stands in the server's queue: "Grading queued (N ahead)" or "Grading…"; null when none. */
export function gradingBadge(grading: GradingState | null | undefined): HTMLElement | null {
  if (!grading) return null;
  const badge =
    grading.state === 'queued'
      ? statusBadge(`Grading queued (${grading.ahead} ahead)`, 'waiting', 'attempt-grading')
      : statusBadge('Grading…', 'live', 'attempt-grading');
  badge.dataset['grading'] = grading.state;
  return badge;
}

export function attemptStateBadge(state: AttemptState, endReason: EndReason | null): HTMLElement {
  const tone =
    state === 'running'
      ? 'live'
      : state === 'created'
        ? 'waiting'
        : state === 'failed' || endReason === 'revoked'
          ? 'stopped'
          : 'done';
  const badge = statusBadge(attemptStateLabel(state, endReason), tone, 'attempt-state');
  badge.dataset['state'] = state;
  return badge;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeThisYear = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** A <time> element with the local date and time; an em dash for null. */
export function timeCell(iso: string | null): HTMLElement | string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  const format = date.getFullYear() === new Date().getFullYear() ? dateTimeThisYear : dateTime;
  return h('time', { datetime: iso, title: dateTime.format(date) }, format.format(date));
}

export function formatTimeOfDay(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '—' : timeOnly.format(date);
}

export type CopyOutcome = 'copied' | 'selected';

/**
 * Copies text to the clipboard. Where the Clipboard API is missing or refused (plain http on another host, a
 * browser that asks first), the text is shown selected in `field`, so Ctrl+C copies it.
 */
export async function copyText(text: string, field: HTMLInputElement | null): Promise<CopyOutcome> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return 'copied';
    }
  } catch {
    // Refused: fall back to selecting the text.
  }
  if (field) {
    field.value = text;
    field.hidden = false;
    field.focus();
    field.select();
  }
  return 'selected';
}

/** The status line after a copy: "Link copied." or how to copy the selected text by hand. */
export function copyMessage(outcome: CopyOutcome, noun = 'link'): string {
  return outcome === 'copied'
    ? `${noun[0]!.toUpperCase()}${noun.slice(1)} copied.`
    : `The ${noun} is selected: press Ctrl+C (or ⌘C) to copy it.`;
}

export interface MinutesDialogOptions {
  title: string;
  body: string;
  label: string;
  confirmLabel: string;
  min: number;
  max: number;
  value: number;
  signal?: AbortSignal;
}

/** A modal asking for a whole number of minutes; resolves null when cancelled. Escape cancels. */
export function minutesDialog(options: MinutesDialogOptions): Promise<number | null> {
  return new Promise((resolve) => {
    const id = Math.random().toString(36).slice(2);
    const titleId = `dialog-title-${id}`;
    const inputId = `dialog-input-${id}`;
    const errorId = `dialog-error-${id}`;
    const input = h('input', {
      id: inputId,
      type: 'number',
      inputmode: 'numeric',
      min: options.min,
      max: options.max,
      step: 1,
      required: true,
      value: options.value,
      class: 'dialog-input',
      'aria-describedby': errorId,
      'data-testid': 'dialog-minutes',
    });
    const error = h('p', { id: errorId, class: 'field-error', 'data-testid': 'dialog-error' });
    const cancel = h('button', { type: 'button', class: 'button', 'data-testid': 'dialog-cancel' }, 'Cancel');
    const confirm = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'dialog-confirm' }, options.confirmLabel);
    const form = h(
      'form',
      { method: 'dialog', novalidate: true },
      h('h2', { id: titleId, class: 'dialog-title' }, options.title),
      h('p', { class: 'dialog-body' }, options.body),
      h('div', { class: 'dialog-field' }, h('label', { for: inputId }, options.label), input, error),
      h('div', { class: 'dialog-actions' }, cancel, confirm),
    );
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'data-testid': 'minutes-dialog' }, form);
    let answer: number | null = null;
    cancel.addEventListener('click', () => dialog.close());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value.trim();
      const minutes = Number(text);
      if (text === '' || !Number.isInteger(minutes) || minutes < options.min || minutes > options.max) {
        error.textContent = `Enter a whole number of minutes from ${options.min} to ${options.max}.`;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      answer = minutes;
      dialog.close();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    if (options.signal?.aborted) {
      resolve(null);
      return;
    }
    options.signal?.addEventListener('abort', () => dialog.close(), { once: true });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
    input.select();
  });
}

/** The panel of an admin page where something is added: a titled section with its form and what it created. */
export function addPanel(id: string, title: string, form: HTMLElement, created: HTMLElement): HTMLElement {
  return h(
    'section',
    { class: 'staff-section staff-panel', 'aria-labelledby': id },
    h('h2', { id, class: 'section-title' }, title),
    form,
    created,
  );
}

/**
 * The list of an admin page: its title (an h2 with an id), the list's alert and status lines, and a table with
 * these column heads (the last, "Actions", read only by screen readers) around `body`.
 */
export function listPanel(opts: {
  title: HTMLElement;
  alert: HTMLElement;
  status: HTMLElement;
  testid: string;
  caption: string;
  columns: string[];
  body: HTMLElement;
}): HTMLElement {
  return h(
    'section',
    { class: 'staff-section', 'aria-labelledby': opts.title.id },
    h('div', { class: 'staff-toolbar' }, opts.title),
    opts.alert,
    opts.status,
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'staff-table', 'data-testid': opts.testid },
        h('caption', { class: 'visually-hidden' }, opts.caption),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...opts.columns.map((t) => h('th', { scope: 'col' }, t)),
            h('th', { scope: 'col', class: 'col-actions' }, h('span', { class: 'visually-hidden' }, 'Actions')),
          ),
        ),
        opts.body,
      ),
    ),
  );
}
