// The tabs above a terminal that switch between an attempt's terminals (terminal 1, the sandbox's main shell, and
// the further ones started beside it). A WAI-ARIA tab list: arrow keys move between the tabs, Enter or a click
// selects one.

import './terminal-tabs.css';
import { MAX_TERMINALS } from '../../../contract/terminal.js';
import { h, type Scope } from '../dom.js';

export class TerminalTabs {
  readonly element: HTMLElement;
  private readonly buttons: HTMLButtonElement[] = [];
  private current = 1;

  constructor(
    scope: Scope,
    private readonly onSelect: (terminal: number) => void,
    opts: { label: string; panelId: string },
  ) {
    this.element = h('div', { class: 'terminal-tabs', role: 'tablist', 'aria-label': opts.label, 'data-testid': 'terminal-tabs' });
    for (let n = 1; n <= MAX_TERMINALS; n++) {
      const button = h(
        'button',
        {
          type: 'button',
          class: 'terminal-tab',
          role: 'tab',
          id: `terminal-tab-${n}`,
          'aria-controls': opts.panelId,
          'aria-selected': n === 1 ? 'true' : 'false',
          tabindex: n === 1 ? 0 : -1,
          'data-testid': `terminal-tab-${n}`,
        },
        `Terminal ${n}`,
      );
      scope.listen(button, 'click', () => this.choose(n));
      scope.listen(button, 'keydown', (event) => {
        const key = (event as KeyboardEvent).key;
        const step = key === 'ArrowRight' ? 1 : key === 'ArrowLeft' ? -1 : 0;
        if (step === 0) return;
        event.preventDefault();
        const next = ((n - 1 + step + MAX_TERMINALS) % MAX_TERMINALS) + 1;
        this.buttons[next - 1]?.focus();
      });
      this.buttons.push(button);
      this.element.append(button);
    }
  }

  get selected(): number {
    return this.current;
  }

  /** Marks `terminal` as the shown one (without calling onSelect). */
  select(terminal: number): void {
    this.current = terminal;
    this.buttons.forEach((button, i) => {
      const on = i + 1 === terminal;
      button.setAttribute('aria-selected', on ? 'true' : 'false');
      button.tabIndex = on ? 0 : -1;
    });
  }

  /** A short state on a tab (its connection: "connected", "exited"…), for styles and tests. */
  setState(terminal: number, state: string): void {
    const button = this.buttons[terminal - 1];
    if (button) button.dataset['state'] = state;
  }

  private choose(terminal: number): void {
    if (terminal === this.current) return;
    this.select(terminal);
    this.onSelect(terminal);
  }
}
