// Transient messages in a corner, announced politely to screen readers.

import { h } from '../dom.js';

export type ToastLevel = 'info' | 'warn' | 'error';

export class Toaster {
  readonly element = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
  private readonly timers = new Set<number>();

  show(message: string, level: ToastLevel = 'info', durationMs = 6000): void {
    const toast = h('div', { class: `toast toast-${level}`, 'data-testid': 'toast' }, message);
    this.element.append(toast);
    // Keep at most a few on screen; a flood of notices must not cover the terminal.
    while (this.element.childElementCount > 3) this.element.firstElementChild?.remove();
    const timer = window.setTimeout(() => {
      this.timers.delete(timer);
      toast.classList.add('toast-leaving');
      window.setTimeout(() => toast.remove(), 200);
    }, durationMs);
    this.timers.add(timer);
  }

  dispose(): void {
    for (const timer of this.timers) window.clearTimeout(timer);
    this.timers.clear();
    this.element.remove();
  }
}
