// "Keyboard" in the workspace header: a small panel listing the keys that move around the workspace, above all
// the way out of the terminal (which keeps Tab for the shell's completion).

import { h, type Scope } from '../dom.js';

export class KeyboardHelp {
  readonly element: HTMLElement;
  private readonly button: HTMLButtonElement;
  private readonly panel: HTMLElement;

  constructor(scope: Scope) {
    const kbd = (...keys: string[]): HTMLElement =>
      h('dt', {}, ...keys.flatMap((key, i) => (i === 0 ? [h('kbd', {}, key)] : ['+', h('kbd', {}, key)])));
    this.button = h(
      'button',
      {
        type: 'button',
        class: 'button button-small',
        'aria-expanded': 'false',
        'aria-controls': 'keyboard-help',
        'data-testid': 'keyboard-help-button',
      },
      'Keyboard',
    );
    this.panel = h(
      'section',
      { class: 'keyboard-help', id: 'keyboard-help', 'aria-labelledby': 'keyboard-help-title', 'data-testid': 'keyboard-help', tabindex: -1 },
      h('h2', { id: 'keyboard-help-title' }, 'Keyboard'),
      h(
        'dl',
        {},
        kbd('F6'),
        h('dd', {}, 'In the terminal: move to Submit (or to the button of a message above the terminal). In the instructions: to the editor, when there is one. Anywhere else: back to the terminal.'),
        kbd('Shift', 'F6'),
        h('dd', {}, 'In the terminal or the editor: move to the instructions. Tab from there reaches the checks and hints.'),
        kbd('Ctrl', 'S'),
        h('dd', {}, 'In the editor: save the file to the sandbox (Cmd+S on a Mac).'),
        kbd('Tab'),
        h('dd', {}, 'In the terminal, Tab completes commands as in any shell; it does not leave the terminal.'),
        h('dt', {}, 'Skip links'),
        h('dd', {}, 'At the top of the page (Shift+Tab from the product name): skip to the terminal, the instructions or Submit.'),
        kbd('Esc'),
        h('dd', {}, 'Closes this panel.'),
      ),
      h(
        'p',
        { class: 'keyboard-help-recorded', 'data-testid': 'keyboard-help-recorded' },
        'Recorded with the attempt: everything the terminal shows and you type, saves, uploads and downloads, pastes of 200 ' +
          'characters or more (their size, not their text), when this tab is hidden or loses focus and for how long, and ' +
          'stretches of several minutes without input.',
      ),
    );
    this.panel.hidden = true;
    this.element = h('div', { class: 'keyboard-help-wrap' }, this.button, this.panel);

    scope.listen(this.button, 'click', () => this.toggle(this.panel.hidden));
    scope.listen(this.element, 'keydown', (event) => {
      if (event.key !== 'Escape' || this.panel.hidden) return;
      event.preventDefault();
      this.toggle(false);
      this.button.focus();
    });
    // A click or focus elsewhere closes it.
    scope.listen(document, 'pointerdown', (event) => {
      if (!this.panel.hidden && event.target instanceof Node && !this.element.contains(event.target)) this.toggle(false);
    });
    scope.listen(document, 'focusin', (event) => {
      if (!this.panel.hidden && event.target instanceof Node && !this.element.contains(event.target)) this.toggle(false);
    });
  }

  private toggle(open: boolean): void {
    this.panel.hidden = !open;
    this.button.setAttribute('aria-expanded', String(open));
  }
}
