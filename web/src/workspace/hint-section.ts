// "Hints" in the workspace: the exercise's hints, revealed one at a time after asking (each one is recorded in the
// attempt).

import { api, ApiError, isAbort, SERVER_ERROR, type HintsView } from '../api.js';
import { h, type Scope } from '../dom.js';
import { confirmDialog } from '../ui/dialog.js';
import { errorText } from '../ui/errors.js';
import { spinner } from '../ui/layout.js';
import { renderMarkdown } from '../ui/markdown.js';
import { sectionElement, setStatusText, type SectionOptions } from './progress-section.js';

export class HintSection {
  readonly element: HTMLElement;
  /** How many hints the exercise has. */
  total = 0;
  /** An interview invite may turn hints off. */
  allowed = true;
  private hints: HintsView | null = null;
  private ended = false;
  private requested = false;
  private revealing = false;

  private readonly count = h('span', { class: 'muted hint-count', 'data-testid': 'hint-count' });
  private readonly list = h('ol', { class: 'hint-list', 'aria-label': 'Revealed hints', 'data-testid': 'hint-list' });
  private readonly button = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'hint-button' }, 'Show a hint');
  private readonly status = h('p', { class: 'progress-status', 'data-testid': 'hint-status' });

  private readonly scope: Scope;
  private readonly attemptId: string;

  constructor(private readonly options: SectionOptions) {
    this.scope = options.scope;
    this.attemptId = options.attemptId;
    this.element = sectionElement('hints', ['Hints', ' ', this.count], this.button, this.list, this.status);
    this.scope.listen(this.button, 'click', () => void this.revealHint());
  }

  /** Something to show: allowed, the exercise has hints, and after the end only those already revealed. */
  get visible(): boolean {
    return this.allowed && this.total > 0 && !(this.ended && (this.hints?.revealed.length ?? 0) === 0);
  }

  show(): void {
    this.render();
  }

  /** Fetches the revealed hints once, when there are hints the attempt may see. */
  maybeLoad(): void {
    if (this.requested || !this.allowed || this.ended || this.total === 0) return;
    this.requested = true;
    void this.loadHints();
  }

  /** The attempt ended: nothing more can be revealed; what was shown stays readable. */
  setEnded(): void {
    this.ended = true;
    this.status.textContent = '';
    this.render();
  }

  private async loadHints(): Promise<void> {
    this.button.setAttribute('aria-disabled', 'true');
    try {
      const hints = await api.getHints(this.attemptId, this.scope.signal);
      if (this.scope.disposed) return;
      this.hints = hints;
      this.total = hints.total;
      setStatusText(this.status, '');
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      if (err instanceof ApiError && err.status === 409) return;
      if (err instanceof ApiError && err.status === 403) {
        this.allowed = false;
        this.options.onVisibility();
        return;
      }
      setStatusText(this.status, errorText(err, 'The hints could not be loaded.'));
    }
    this.render();
    this.options.onVisibility();
  }

  private async revealHint(): Promise<void> {
    if (this.ended || this.revealing || !this.hints) return;
    const next = this.hints.revealed.length + 1;
    const total = this.hints.total;
    if (next > total) return;
    const ok = await confirmDialog({
      title: 'Show a hint?',
      body: `Hints are recorded in your attempt. Show hint ${next} of ${total}?`,
      confirmLabel: `Show hint ${next}`,
      cancelLabel: 'Not now',
      signal: this.scope.signal,
    });
    if (!ok || this.ended || this.scope.disposed) return;
    this.revealing = true;
    this.render();
    try {
      const hints = await api.revealHint(this.attemptId, this.scope.signal);
      if (this.scope.disposed) return;
      this.hints = hints;
      this.total = hints.total;
      setStatusText(this.status, '');
      const shown = hints.revealed.length;
      const text = hints.revealed[shown - 1];
      if (text !== undefined) this.options.announce(`Hint ${shown} of ${hints.total}: ${text}`);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      if (err instanceof ApiError && err.status === 409 && err.code === SERVER_ERROR.noMoreHints) {
        await this.loadHints();
      } else if (err instanceof ApiError && err.status === 409) {
        await this.options.onAttemptNotRunning().catch(() => undefined);
        if (!this.ended) setStatusText(this.status, err.message);
      } else {
        setStatusText(this.status, errorText(err, 'The hint could not be shown.'));
      }
    } finally {
      if (!this.scope.disposed) {
        this.revealing = false;
        this.render();
        this.options.onVisibility();
      }
    }
    // The button is gone once every hint is shown: keep the focus in the section, on the newest hint.
    if (this.button.hidden && document.activeElement === document.body) {
      this.list.querySelector<HTMLElement>('li:last-child')?.focus();
    }
  }

  private render(): void {
    const revealed = this.hints?.revealed ?? [];
    const total = this.hints?.total ?? this.total;
    this.count.textContent = this.hints ? `${revealed.length} of ${total} shown` : '';
    if (this.list.childElementCount !== revealed.length) {
      this.list.replaceChildren(
        ...revealed.map((text, i) =>
          h(
            'li',
            { class: 'hint', tabindex: -1, 'data-testid': 'hint', 'data-hint': i + 1 },
            h('div', { class: 'markdown-body hint-text' }, renderMarkdown(text)),
          ),
        ),
      );
    }
    this.list.hidden = revealed.length === 0;
    const next = revealed.length + 1;
    const button = this.button;
    button.hidden = this.ended || !this.hints || next > total;
    button.setAttribute('aria-disabled', String(this.revealing || !this.hints));
    if (this.revealing) {
      button.setAttribute('aria-busy', 'true');
      button.replaceChildren(spinner(), 'Showing…');
    } else {
      button.removeAttribute('aria-busy');
      button.replaceChildren(`Show a hint (${next} of ${total})`);
    }
  }
}
