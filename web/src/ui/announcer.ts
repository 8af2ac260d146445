// A polite live region for screen readers. The same text twice in a row is announced again.

import { h, type Scope } from '../dom.js';

export class Announcer {
  readonly element: HTMLElement;

  constructor(
    private readonly scope: Scope,
    testid: string,
  ) {
    this.element = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'data-testid': testid });
  }

  say(text: string): void {
    this.element.textContent = '';
    this.scope.timeout(() => {
      this.element.textContent = text;
    }, 50);
  }
}
