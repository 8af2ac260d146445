// Pieces of the sign-in, setup and activation pages: the card they sit in, the form with its alert and submit
// button, labelled fields with their own error line, the password checks the server makes, and the busy state of
// a submit button.

import './staff.css';
import { isAbort } from '../api.js';
import { h, type Scope } from '../dom.js';
import { siteHeader, spinner } from '../ui/layout.js';
import { PASSWORD_LENGTH } from './session.js';

export interface FormField {
  input: HTMLInputElement;
  error: HTMLElement;
  wrap: HTMLElement;
}

export function formField(
  id: string,
  label: string,
  attrs: Record<string, string | number | boolean>,
  hint?: string,
): FormField {
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const input = h('input', {
    id,
    name: id,
    'data-testid': id,
    'aria-describedby': hint ? `${hintId} ${errorId}` : errorId,
    ...attrs,
  });
  const error = h('p', { id: errorId, class: 'field-error', 'data-testid': `${id}-error` });
  const wrap = h(
    'div',
    { class: 'form-field' },
    h('label', { for: id }, label, hint ? h('span', { id: hintId, class: 'field-hint' }, hint) : null),
    input,
    error,
  );
  return { input, error, wrap };
}

/** Shows (or clears, with null) a field's message; returns whether the field is fine. */
export function setFieldError(field: { input: HTMLElement; error: HTMLElement }, message: string | null): boolean {
  field.error.textContent = message ?? '';
  if (message) field.input.setAttribute('aria-invalid', 'true');
  else field.input.removeAttribute('aria-invalid');
  return message === null;
}

/** The server's rule, said before the request is sent. */
export function passwordProblem(password: string): string | null {
  const length = [...password].length;
  if (length === 0) return 'Enter a password.';
  if (length < PASSWORD_LENGTH.min) return `Use at least ${PASSWORD_LENGTH.min} characters (this one has ${length}).`;
  if (length > PASSWORD_LENGTH.max) return `Use at most ${PASSWORD_LENGTH.max} characters.`;
  return null;
}

export function passwordFields(prefix: string): { password: FormField; confirm: FormField } {
  return {
    password: formField(
      `${prefix}-password`,
      'Password',
      { type: 'password', autocomplete: 'new-password', required: true },
      `${PASSWORD_LENGTH.min} to ${PASSWORD_LENGTH.max} characters. A few unrelated words work well.`,
    ),
    confirm: formField(`${prefix}-confirm`, 'Repeat the password', {
      type: 'password',
      autocomplete: 'new-password',
      required: true,
    }),
  };
}

/** Checks a new password and its repetition; focuses the first field that is wrong. */
export function checkNewPassword(fields: { password: FormField; confirm: FormField }): boolean {
  const problem = passwordProblem(fields.password.input.value);
  const okPassword = setFieldError(fields.password, problem);
  const okConfirm = setFieldError(
    fields.confirm,
    okPassword && fields.confirm.input.value !== fields.password.input.value ? 'The two passwords differ.' : null,
  );
  if (!okPassword) fields.password.input.focus();
  else if (!okConfirm) fields.confirm.input.focus();
  return okPassword && okConfirm;
}

/** The page frame of a card: the site header and a narrow main. The heading's id is `<id>-title`. */
export function accountCard(root: HTMLElement, id: string, title: string, lead: string): { card: HTMLElement; heading: HTMLElement } {
  const heading = h('h1', { tabindex: -1, id: `${id}-title` }, title);
  const card = h('div', { class: 'account-card' }, heading, h('p', { class: 'lead' }, lead));
  root.append(siteHeader(), h('main', { class: 'page account-page', id: 'main' }, card));
  return { card, heading };
}

export function message(kind: 'info' | 'error', text: string | Node, testid?: string): HTMLElement {
  return h('p', { class: `message message-${kind}`, 'data-testid': testid ?? null }, text);
}

/** Marks a submit button busy (spinner, no second press) and returns the function that restores it. */
export function busy(button: HTMLButtonElement, label: string): () => void {
  const original = button.textContent ?? '';
  button.setAttribute('aria-busy', 'true');
  button.setAttribute('aria-disabled', 'true');
  button.replaceChildren(spinner(), label);
  return () => {
    button.removeAttribute('aria-busy');
    button.removeAttribute('aria-disabled');
    button.textContent = original;
  };
}

/** The card says why there is no form (the link is incomplete or used up) and takes the focus to its heading. */
export function cardNotice(card: { card: HTMLElement; heading: HTMLElement }, ...content: HTMLElement[]): void {
  card.card.append(...content);
  card.heading.focus();
}

export interface AccountFormOptions {
  scope: Scope;
  /** Names the form's parts: `<id>-form`, `<id>-submit`, `<id>-error`; the card's heading is `<id>-title`. */
  id: string;
  fields: Node[];
  submitLabel: string;
  /** The submit button's label while the request runs. */
  busyLabel: string;
  /** Checks the fields, showing each one's message and focusing the first wrong one; false stops the submit. */
  check(): boolean;
  /** The request (and where to go after it). */
  send(): Promise<void>;
  /** The alert's text when the request failed. */
  failure(err: unknown): string;
  /** After the alert shows a failure. */
  afterFailure?(err: unknown): void;
}

/** A card's form: an alert, the fields, a submit button that shows it is busy, and one request at a time. */
export function accountForm(options: AccountFormOptions): { alert: HTMLElement; form: HTMLFormElement } {
  const { scope, id } = options;
  const alert = h('div', { class: 'status-area', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': `${id}-submit` }, options.submitLabel);
  const form = h(
    'form',
    { class: 'staff-form', novalidate: true, 'aria-labelledby': `${id}-title`, 'data-testid': `${id}-form` },
    ...options.fields,
    h('div', { class: 'form-actions' }, submit),
  );

  let sending = false;
  const send = async (): Promise<void> => {
    if (sending) return;
    alert.replaceChildren();
    if (!options.check()) return;
    sending = true;
    const restore = busy(submit, options.busyLabel);
    try {
      await options.send();
    } catch (err) {
      if (isAbort(err) || scope.disposed) return;
      restore();
      alert.append(message('error', options.failure(err), `${id}-error`));
      options.afterFailure?.(err);
    } finally {
      sending = false;
    }
  };
  scope.listen(form, 'submit', (event) => {
    event.preventDefault();
    void send();
  });
  return { alert, form };
}
