// "Reset sandbox" in a practice workspace's header: after asking, a fresh sandbox in the exercise's initial state,
// under the same attempt and clock.

import { isAbort } from '../api.js';
import { h, type Scope } from '../dom.js';
import { practiceApi } from '../practice/api.js';
import { confirmDialog } from '../ui/dialog.js';
import { errorText } from '../ui/errors.js';
import type { Toaster } from '../ui/toast.js';

export interface ResetSandboxOptions {
  attemptId: string;
  scope: Scope;
  toaster: Toaster;
  /** False once the attempt is over. */
  canReset(): boolean;
  /** The sandbox is fresh. */
  onReset(): void;
}

export class ResetSandbox {
  readonly element = h('button', { type: 'button', class: 'button', 'data-testid': 'reset-button', hidden: true }, 'Reset sandbox');
  private resetting = false;

  constructor(private readonly options: ResetSandboxOptions) {
    options.scope.listen(this.element, 'click', () => void this.reset());
  }

  set hidden(hidden: boolean) {
    this.element.hidden = hidden;
  }

  private async reset(): Promise<void> {
    const { attemptId, scope, toaster } = this.options;
    if (!this.options.canReset() || this.resetting) return;
    const ok = await confirmDialog({
      title: 'Reset the sandbox?',
      body:
        'You get a fresh sandbox in the exercise\'s initial state. Every file you changed and every process you ' +
        'started is lost. The clock keeps running, and your hints stay revealed.',
      confirmLabel: 'Reset',
      signal: scope.signal,
    });
    if (!ok || !this.options.canReset()) return;
    const button = this.element;
    this.resetting = true;
    button.disabled = true;
    button.textContent = 'Resetting…';
    try {
      await practiceApi.reset(attemptId, scope.signal);
      toaster.show('The sandbox is back in its initial state.', 'info');
      this.options.onReset();
    } catch (err) {
      if (isAbort(err) || scope.disposed) return;
      toaster.show(errorText(err, 'The sandbox could not be reset.'), 'error');
    } finally {
      this.resetting = false;
      button.disabled = false;
      button.textContent = 'Reset sandbox';
    }
  }
}
