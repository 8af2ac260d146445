// Under the instructions in the workspace: "Check my progress" runs the exercise's checks on demand and shows
// the last results; "Hints" reveals the exercise's hints one at a time (each one is recorded in the attempt).

import {
  api,
  ApiError,
  isAbort,
  SERVER_ERROR,
  type CheckResult,
  type CheckRun,
  type CheckVerdict,
  type Exercise,
  type ExerciseCheck,
  type HintsView,
} from '../api.js';
import { h, type Scope } from '../dom.js';
import { confirmDialog } from '../ui/dialog.js';
import { errorText } from '../ui/errors.js';
import { plural } from '../ui/format.js';
import { spinner } from '../ui/layout.js';
import { renderMarkdown } from '../ui/markdown.js';

export interface ProgressPanelOptions {
  attemptId: string;
  scope: Scope;
  /** The server says the attempt is not running any more: refetch it, so that the workspace shows its end. */
  onAttemptNotRunning: () => Promise<void>;
}

/** The last results of an attempt, kept for this tab so that a reload shows them again. */
const RESULTS_KEY = (attemptId: string): string => `opslab.checks.${attemptId}`;

/** The server's answer to a check run on an invite that does not show feedback. */
const NO_FEEDBACK = 'OPSLAB_ERR_NO_FEEDBACK';

/** When the server asks for a pause but does not say how long. */
const DEFAULT_WAIT_SECONDS = 10;

type RowVerdict = CheckVerdict | 'unchecked';

const VERDICTS: Record<RowVerdict, { label: string; icon: string }> = {
  pass: { label: 'Pass', icon: '✓' },
  fail: { label: 'Not yet', icon: '✕' },
  // The grader broke: neutral, never the candidate's failure.
  error: { label: 'Could not be checked', icon: '?' },
  unchecked: { label: 'Not checked yet', icon: '' },
};

export class ProgressPanel {
  readonly element: HTMLElement;

  private readonly scope: Scope;
  private readonly attemptId: string;
  private readonly onAttemptNotRunning: () => Promise<void>;

  private checks: ExerciseCheck[] = [];
  private hintTotal = 0;
  private hints: HintsView | null = null;
  private lastRun: CheckRun | null = null;
  private ended = false;
  /** What the attempt offers (an interview invite may turn feedback off); both until the attempt says. */
  private checksAllowed = true;
  private hintsAllowed = true;
  private exerciseKnown = false;
  private hintsRequested = false;
  private checking = false;
  private revealing = false;
  /** Date.now() until which the server asked us not to run the checks again. */
  private waitUntil = 0;
  private cancelWait: (() => void) | null = null;

  private readonly announcer = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'data-testid': 'progress-announcer' });

  private readonly checksSection: HTMLElement;
  private readonly score = h('span', { class: 'check-score', 'data-testid': 'check-score' });
  private readonly checkedAt = h('span', { class: 'check-when muted', 'data-testid': 'check-when' });
  private readonly checkList = h('ul', { class: 'check-list', 'aria-label': 'Checks', 'data-testid': 'check-list' });
  private readonly checkButton = h(
    'button',
    { type: 'button', class: 'button button-primary button-small check-button', 'data-testid': 'check-button' },
    'Check my progress',
  );
  private readonly checkStatus = h('p', { class: 'progress-status', 'data-testid': 'check-status' });

  private readonly hintsSection: HTMLElement;
  private readonly hintCount = h('span', { class: 'muted hint-count', 'data-testid': 'hint-count' });
  private readonly hintList = h('ol', { class: 'hint-list', 'aria-label': 'Revealed hints', 'data-testid': 'hint-list' });
  private readonly hintButton = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'hint-button' }, 'Show a hint');
  private readonly hintStatus = h('p', { class: 'progress-status', 'data-testid': 'hint-status' });

  constructor(options: ProgressPanelOptions) {
    this.scope = options.scope;
    this.attemptId = options.attemptId;
    this.onAttemptNotRunning = options.onAttemptNotRunning;

    this.checksSection = h(
      'section',
      { class: 'progress-section', 'aria-labelledby': 'progress-checks-heading', 'data-testid': 'checks-section' },
      h(
        'div',
        { class: 'progress-head' },
        h('h2', { class: 'progress-title', id: 'progress-checks-heading' }, 'Your progress'),
        this.checkButton,
      ),
      h('p', { class: 'progress-summary' }, this.score, this.checkedAt),
      this.checkList,
      this.checkStatus,
    );
    this.hintsSection = h(
      'section',
      { class: 'progress-section', 'aria-labelledby': 'progress-hints-heading', 'data-testid': 'hints-section' },
      h(
        'div',
        { class: 'progress-head' },
        h('h2', { class: 'progress-title', id: 'progress-hints-heading' }, 'Hints', ' ', this.hintCount),
        this.hintButton,
      ),
      this.hintList,
      this.hintStatus,
    );
    this.element = h(
      'section',
      { class: 'progress-panel', 'aria-label': 'Checks and hints', 'data-testid': 'progress-panel' },
      this.checksSection,
      this.hintsSection,
      this.announcer,
    );
    this.element.hidden = true;
    this.checksSection.hidden = true;
    this.hintsSection.hidden = true;

    this.scope.listen(this.checkButton, 'click', () => void this.runChecks());
    this.scope.listen(this.hintButton, 'click', () => void this.revealHint());
  }

  /** The exercise arrived: show what it offers (nothing at all when it has neither checks nor hints). */
  setExercise(exercise: Exercise): void {
    this.checks = exercise.checks ?? [];
    this.hintTotal = exercise.hintCount ?? 0;
    this.exerciseKnown = true;
    if (!this.ended && this.checksAllowed && this.checks.length > 0) this.lastRun ??= loadResults(this.attemptId);
    this.renderChecks();
    this.renderHints();
    this.renderVisibility();
    this.maybeLoadHints();
  }

  /**
   * What the attempt allows: "Check my progress" only with `checks`, the hints only with `hints`. A section that
   * is not allowed is not shown at all (and its routes are never called).
   */
  setAllowed(allowed: { checks: boolean; hints: boolean }): void {
    if (allowed.checks === this.checksAllowed && allowed.hints === this.hintsAllowed) return;
    this.checksAllowed = allowed.checks;
    this.hintsAllowed = allowed.hints;
    if (this.checksAllowed && this.exerciseKnown && !this.ended && this.checks.length > 0) {
      this.lastRun ??= loadResults(this.attemptId);
      this.renderChecks();
    }
    this.renderVisibility();
    this.maybeLoadHints();
  }

  private maybeLoadHints(): void {
    if (this.hintsRequested || !this.exerciseKnown || !this.hintsAllowed || this.ended || this.hintTotal === 0) return;
    this.hintsRequested = true;
    void this.loadHints();
  }

  /** The attempt ended: nothing can be run or revealed any more; what was shown stays readable. */
  setEnded(): void {
    if (this.ended) return;
    this.ended = true;
    forgetResults(this.attemptId);
    this.stopWaiting();
    this.checkStatus.textContent = '';
    this.hintStatus.textContent = '';
    this.renderChecks();
    this.renderHints();
    this.renderVisibility();
  }

  // ---- checks --------------------------------------------------------------------------------------------

  private async runChecks(): Promise<void> {
    if (this.ended || !this.checksAllowed || this.checking || this.waitUntil > Date.now()) return;
    this.checking = true;
    this.renderCheckButton();
    this.checkList.setAttribute('aria-busy', 'true');
    this.setStatus(this.checkStatus, 'Running the checks on your sandbox. This can take up to a minute.');
    this.announce('Checking your work…');
    try {
      const run = await api.runChecks(this.attemptId, this.scope.signal);
      if (this.scope.disposed) return;
      this.lastRun = run;
      if (!this.ended) saveResults(this.attemptId, run);
      this.setStatus(this.checkStatus, run.error ? `The checks could not be run: ${run.error}` : '');
      this.renderChecks();
      this.announce(runSummary(run));
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      await this.onCheckError(err);
    } finally {
      if (!this.scope.disposed) {
        this.checking = false;
        this.checkList.removeAttribute('aria-busy');
        this.renderCheckButton();
      }
    }
  }

  private async onCheckError(err: unknown): Promise<void> {
    if (err instanceof ApiError && err.status === 429) {
      this.setStatus(this.checkStatus, '');
      this.startWaiting(err.retryAfterSeconds ?? DEFAULT_WAIT_SECONDS);
      return;
    }
    if (err instanceof ApiError && err.status === 403 && err.code === NO_FEEDBACK) {
      // This invite does not show feedback: the button should not have been there.
      this.checksAllowed = false;
      this.renderVisibility();
      return;
    }
    if (err instanceof ApiError && err.status === 409 && err.code === SERVER_ERROR.noChecks) {
      this.checks = [];
      this.renderVisibility();
      return;
    }
    if (err instanceof ApiError && err.status === 409 && err.code !== SERVER_ERROR.sandboxMissing) {
      // The attempt ended (submitted, expired) while this page looked elsewhere.
      this.setStatus(this.checkStatus, '');
      await this.onAttemptNotRunning().catch(() => undefined);
      if (!this.ended) this.setStatus(this.checkStatus, err.message);
      return;
    }
    const text = errorText(err, 'Your work could not be checked.');
    this.setStatus(this.checkStatus, text);
    this.announce(text);
  }

  /** The server asked for a pause: count it down next to the button, then offer the button again. */
  private startWaiting(seconds: number): void {
    this.stopWaiting();
    this.waitUntil = Date.now() + Math.max(1, seconds) * 1000;
    this.announce(`You can check again in ${plural(Math.max(1, seconds), 'second')}.`);
    const tick = (): void => {
      const left = Math.ceil((this.waitUntil - Date.now()) / 1000);
      if (left <= 0 || this.ended) {
        this.stopWaiting();
        return;
      }
      const text = `You can check again in ${left} s`;
      if (this.checkStatus.textContent !== text) this.setStatus(this.checkStatus, text);
      this.checkStatus.dataset['state'] = 'waiting';
    };
    tick();
    this.cancelWait = this.scope.interval(tick, 250);
    this.renderCheckButton();
  }

  private stopWaiting(): void {
    this.cancelWait?.();
    this.cancelWait = null;
    if (this.waitUntil !== 0) {
      this.waitUntil = 0;
      if (this.checkStatus.dataset['state'] === 'waiting') this.setStatus(this.checkStatus, '');
    }
    this.renderCheckButton();
  }

  private renderCheckButton(): void {
    const button = this.checkButton;
    button.hidden = this.ended;
    // aria-disabled rather than disabled: a keyboard user keeps the focus on the button while it works.
    const unavailable = this.checking || this.waitUntil > Date.now();
    button.setAttribute('aria-disabled', String(unavailable));
    if (this.checking) button.setAttribute('aria-busy', 'true');
    else button.removeAttribute('aria-busy');
    const state = this.checking ? 'checking' : unavailable ? 'waiting' : 'idle';
    if (button.dataset['state'] !== state) {
      button.dataset['state'] = state;
      if (state === 'checking') button.replaceChildren(spinner(), 'Checking…');
      else button.replaceChildren('Check my progress');
    }
  }

  private renderChecks(): void {
    const run = this.lastRun;
    const maxScore = run?.maxScore ?? this.checks.reduce((sum, c) => sum + c.points, 0);
    if (run) {
      this.score.textContent = `${run.score} / ${maxScore} points`;
      this.score.dataset['score'] = String(run.score);
      this.checkedAt.textContent = `checked at ${formatTime(run.finishedAt)}`;
    } else {
      this.score.textContent = `${maxScore} points in ${plural(this.checks.length, 'check')}`;
      delete this.score.dataset['score'];
      this.checkedAt.textContent = this.ended ? '' : 'not checked yet';
    }
    this.score.dataset['maxScore'] = String(maxScore);

    // The exercise's list gives the order; a run's results fill it in (and add any check the list lacks).
    const results = new Map((run?.checks ?? []).map((r) => [r.id, r]));
    const rows: HTMLElement[] = [];
    for (const check of this.checks) {
      rows.push(checkRow(check, results.get(check.id) ?? null));
      results.delete(check.id);
    }
    for (const result of results.values()) rows.push(checkRow(result, result));
    this.checkList.replaceChildren(...rows);
    this.renderCheckButton();
  }

  // ---- hints ---------------------------------------------------------------------------------------------

  private async loadHints(): Promise<void> {
    this.hintButton.setAttribute('aria-disabled', 'true');
    try {
      const hints = await api.getHints(this.attemptId, this.scope.signal);
      if (this.scope.disposed) return;
      this.hints = hints;
      this.hintTotal = hints.total;
      this.setStatus(this.hintStatus, '');
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      if (err instanceof ApiError && err.status === 409) return;
      if (err instanceof ApiError && err.status === 403) {
        this.hintsAllowed = false;
        this.renderVisibility();
        return;
      }
      this.setStatus(this.hintStatus, errorText(err, 'The hints could not be loaded.'));
    }
    this.renderHints();
    this.renderVisibility();
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
    this.renderHints();
    try {
      const hints = await api.revealHint(this.attemptId, this.scope.signal);
      if (this.scope.disposed) return;
      this.hints = hints;
      this.hintTotal = hints.total;
      this.setStatus(this.hintStatus, '');
      const shown = hints.revealed.length;
      const text = hints.revealed[shown - 1];
      if (text !== undefined) this.announce(`Hint ${shown} of ${hints.total}: ${text}`);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      if (err instanceof ApiError && err.status === 409 && err.code === SERVER_ERROR.noMoreHints) {
        await this.loadHints();
      } else if (err instanceof ApiError && err.status === 409) {
        await this.onAttemptNotRunning().catch(() => undefined);
        if (!this.ended) this.setStatus(this.hintStatus, err.message);
      } else {
        this.setStatus(this.hintStatus, errorText(err, 'The hint could not be shown.'));
      }
    } finally {
      if (!this.scope.disposed) {
        this.revealing = false;
        this.renderHints();
        this.renderVisibility();
      }
    }
    // The button is gone once every hint is shown: keep the focus in the section, on the newest hint.
    if (this.hintButton.hidden && document.activeElement === document.body) {
      this.hintList.querySelector<HTMLElement>('li:last-child')?.focus();
    }
  }

  private renderHints(): void {
    const revealed = this.hints?.revealed ?? [];
    const total = this.hints?.total ?? this.hintTotal;
    this.hintCount.textContent = this.hints ? `${revealed.length} of ${total} shown` : '';
    if (this.hintList.childElementCount !== revealed.length) {
      this.hintList.replaceChildren(
        ...revealed.map((text, i) =>
          h(
            'li',
            { class: 'hint', tabindex: -1, 'data-testid': 'hint', 'data-hint': i + 1 },
            h('div', { class: 'markdown-body hint-text' }, renderMarkdown(text)),
          ),
        ),
      );
    }
    this.hintList.hidden = revealed.length === 0;
    const next = revealed.length + 1;
    const button = this.hintButton;
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

  // ---- shared --------------------------------------------------------------------------------------------

  private renderVisibility(): void {
    const revealed = this.hints?.revealed.length ?? 0;
    // After the end, a section stays only when it has something to read.
    this.checksSection.hidden = !this.checksAllowed || this.checks.length === 0 || (this.ended && !this.lastRun);
    this.hintsSection.hidden = !this.hintsAllowed || this.hintTotal === 0 || (this.ended && revealed === 0);
    this.element.hidden = this.checksSection.hidden && this.hintsSection.hidden;
  }

  private setStatus(el: HTMLElement, text: string): void {
    if (el.textContent !== text) el.textContent = text;
    delete el.dataset['state'];
  }

  /** Screen readers hear it once; the same text twice in a row is announced again. */
  private announce(text: string): void {
    this.announcer.textContent = '';
    this.scope.timeout(() => {
      this.announcer.textContent = text;
    }, 50);
  }
}

function checkRow(check: ExerciseCheck, result: CheckResult | null): HTMLElement {
  const verdict: RowVerdict = result?.verdict ?? 'unchecked';
  const { label, icon } = VERDICTS[verdict] ?? VERDICTS.error;
  return h(
    'li',
    { class: 'check-row', 'data-testid': `check-${check.id}`, 'data-verdict': verdict },
    h('span', { class: 'check-icon', 'aria-hidden': 'true' }, icon),
    h(
      'div',
      { class: 'check-main' },
      h('span', { class: 'check-title' }, check.title),
      h('span', { class: 'check-verdict', 'data-testid': 'check-verdict' }, label),
      result?.message ? h('p', { class: 'check-message', 'data-testid': 'check-message' }, result.message.trim()) : null,
    ),
    h('span', { class: 'check-points' }, plural(check.points, 'pt')),
  );
}

function saveResults(attemptId: string, run: CheckRun): void {
  try {
    sessionStorage.setItem(RESULTS_KEY(attemptId), JSON.stringify(run));
  } catch {
    // Storage may be disabled or full; the results are then gone after a reload.
  }
}

function loadResults(attemptId: string): CheckRun | null {
  try {
    const run = JSON.parse(sessionStorage.getItem(RESULTS_KEY(attemptId)) ?? 'null') as CheckRun | null;
    const valid =
      run !== null &&
      typeof run === 'object' &&
      typeof run.score === 'number' &&
      typeof run.maxScore === 'number' &&
      typeof run.finishedAt === 'string' &&
      Array.isArray(run.checks);
    return valid ? run : null;
  } catch {
    return null;
  }
}

function forgetResults(attemptId: string): void {
  try {
    sessionStorage.removeItem(RESULTS_KEY(attemptId));
  } catch {
    // As above.
  }
}

function runSummary(run: CheckRun): string {
  if (run.error) return `The checks could not be run: ${run.error}`;
  const passed = run.checks.filter((c) => c.verdict === 'pass').length;
  const broken = run.checks.filter((c) => c.verdict === 'error').length;
  let text = `Checks done: ${run.score} of ${run.maxScore} points. ${passed} of ${plural(run.checks.length, 'check')} pass.`;
  if (broken > 0) text += ` ${broken} could not be checked.`;
  return text;
}

function formatTime(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  return at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
