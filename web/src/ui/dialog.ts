// A confirm dialog on the native <dialog>: modal, focus-trapped, Escape cancels.

import { h } from '../dom.js';

export interface ConfirmOptions {
  title: string;
  body: string;
  confirmLabel: string;
  cancelLabel?: string;
  /** Closes the dialog (answering false) when aborted, e.g. on page leave. */
  signal?: AbortSignal;
}

export function confirmDialog(options: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
    const cancel = h('button', { type: 'button', class: 'button', 'data-testid': 'dialog-cancel' }, options.cancelLabel ?? 'Cancel');
    const confirm = h(
      'button',
      { type: 'button', class: 'button button-primary', 'data-testid': 'dialog-confirm' },
      options.confirmLabel,
    );
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': titleId, 'data-testid': 'confirm-dialog' },
      h('h2', { id: titleId, class: 'dialog-title' }, options.title),
      h('p', { class: 'dialog-body' }, options.body),
      h('div', { class: 'dialog-actions' }, cancel, confirm),
    );
    let answer = false;
    cancel.addEventListener('click', () => dialog.close());
    confirm.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    if (options.signal?.aborted) {
      resolve(false);
      return;
    }
    options.signal?.addEventListener('abort', () => dialog.close(), { once: true });
    document.body.append(dialog);
    dialog.showModal();
    // The safe choice has the focus: Enter alone must not end an attempt.
    cancel.focus();
  });
}
