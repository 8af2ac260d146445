// Pieces of the sign-in, setup and activation pages: the card they sit in, labelled fields with their own error
// line, the password checks the server makes, and the busy state of a submit button.

import './staff.css';
import { h } from '../dom.js';
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

/** The page frame of a card: the site header and a narrow main. */
export function accountCard(root: HTMLElement, title: string, lead: string): { card: HTMLElement; heading: HTMLElement } {
  const heading = h('h1', { tabindex: -1 }, title);
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
