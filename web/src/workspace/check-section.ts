// "Your progress" in the workspace: "Check my progress" runs the exercise's checks on demand and lists their
// verdicts; the last results stay for this tab (a reload shows them again); a pause the server asks for counts down.

import { api, ApiError, isAbort, SERVER_ERROR, type CheckResult, type CheckRun, type CheckVerdict, type ExerciseCheck } from '../api.js';
import { h, type Scope } from '../dom.js';
import { errorText } from '../ui/errors.js';
import { plural } from '../ui/format.js';
import { spinner } from '../ui/layout.js';
import { sectionElement, setStatusText, type SectionOptions } from './progress-section.js';
import type { GradingState } from '../../../contract/attempts.js';

/** The last results of an attempt, kept for this tab so that a reload shows them again. */
const RESULTS_KEY = (attemptId: string): string => `opslab.checks.${attemptId}`;

/** The server's answer to a check run on an invite that does not show feedback. */
const NO_FEEDBACK = 'OPSLAB_ERR_NO_FEEDBACK';
/** The server's answer when the grader is busy (too many check runs wait) or the machine is full. */
const CAPACITY = 'OPSLAB_ERR_CAPACITY';
const RUNNING_TEXT = 'Running the checks on your sandbox. This can take up to a minute.';

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

export class CheckSection {
  readonly element: HTMLElement;
  /** The exercise's checks, in its order. */
  checks: ExerciseCheck[] = [];
  /** An interview invite may turn feedback off. */
  allowed = true;
  private lastRun: CheckRun | null = null;
  private ended = false;
  private checking = false;
  /** Date.now() until which the server asked us not to run the checks again. */
  private waitUntil = 0;
  private cancelWait: (() => void) | null = null;

  private readonly score = h('span', { class: 'check-score', 'data-testid': 'check-score' });
  private readonly checkedAt = h('span', { class: 'check-when muted', 'data-testid': 'check-when' });
  private readonly list = h('ul', { class: 'check-list', 'aria-label': 'Checks', 'data-testid': 'check-list' });
  private readonly button = h(
    'button',
    { type: 'button', class: 'button button-primary button-small check-button', 'data-testid': 'check-button' },
    'Check my progress',
  );
  private readonly status = h('p', { class: 'progress-status', 'data-testid': 'check-status' });

  private readonly scope: Scope;
  private readonly attemptId: string;

  constructor(private readonly options: SectionOptions) {
    this.scope = options.scope;
    this.attemptId = options.attemptId;
    this.element = sectionElement(
      'checks',
      ['Your progress'],
      this.button,
      h('p', { class: 'progress-summary' }, this.score, this.checkedAt),
      this.list,
      this.status,
    );
    this.scope.listen(this.button, 'click', () => void this.runChecks());
  }

  /** Something to show: allowed, the exercise has checks, and after the end only with results to read. */
  get visible(): boolean {
    return this.allowed && this.checks.length > 0 && !(this.ended && !this.lastRun);
  }

  /** Shows the checks, with this tab's last results when the attempt is still running. */
  show(): void {
    if (!this.ended && this.allowed && this.checks.length > 0) this.lastRun ??= loadResults(this.attemptId);
    this.render();
  }

  /** The attempt ended: no more runs; the last results stay readable. */
  setEnded(): void {
    this.ended = true;
    forgetResults(this.attemptId);
    this.stopWaiting();
    this.status.textContent = '';
    this.render();
  }

  private async runChecks(): Promise<void> {
    if (this.ended || !this.allowed || this.checking || this.waitUntil > Date.now()) return;
    this.checking = true;
    this.renderCheckButton();
    this.list.setAttribute('aria-busy', 'true');
    setStatusText(this.status, RUNNING_TEXT);
    this.options.announce('Checking your work…');
    try {
      const run = await api.runChecks(this.attemptId, this.scope.signal);
      if (this.scope.disposed) return;
      this.lastRun = run;
      if (!this.ended) saveResults(this.attemptId, run);
      setStatusText(this.status, run.error ? `The checks could not be run: ${run.error}` : '');
      this.render();
      this.options.announce(runSummary(run));
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      await this.onCheckError(err);
    } finally {
      if (!this.scope.disposed) {
        this.checking = false;
        this.list.removeAttribute('aria-busy');
        this.renderCheckButton();
      }
    }
  }

  /**
   * Where this attempt's check run stands in the server's grading queue (the server pushes the attempt while the
   * run waits): "queued (N ahead)" until the grader takes it.
   */
  setGrading(grading: GradingState | null | undefined): void {
    if (!this.checking || this.ended) return;
    if (grading?.state === 'queued') {
      const text = `Queued (${grading.ahead} ahead): your checks run as soon as the grader is free.`;
      if (this.status.textContent !== text) {
        setStatusText(this.status, text);
        this.options.announce(text);
      }
      this.status.dataset['state'] = 'queued';
    } else if (this.status.dataset['state'] === 'queued') {
      setStatusText(this.status, RUNNING_TEXT);
    }
  }

  private async onCheckError(err: unknown): Promise<void> {
    if (err instanceof ApiError && err.status === 503 && err.code === CAPACITY) {
      // The grader is busy: say so, then count down to when asking again is worth it.
      this.options.announce(err.message);
      this.startWaiting(err.retryAfterSeconds ?? DEFAULT_WAIT_SECONDS, 'The grader is busy.');
      return;
    }
    if (err instanceof ApiError && err.status === 429) {
      setStatusText(this.status, '');
      this.startWaiting(err.retryAfterSeconds ?? DEFAULT_WAIT_SECONDS);
      return;
    }
    if (err instanceof ApiError && err.status === 403 && err.code === NO_FEEDBACK) {
      // This invite does not show feedback: the button should not have been there.
      this.allowed = false;
      this.options.onVisibility();
      return;
    }
    if (err instanceof ApiError && err.status === 409 && err.code === SERVER_ERROR.noChecks) {
      this.checks = [];
      this.options.onVisibility();
      return;
    }
    if (err instanceof ApiError && err.status === 409 && err.code !== SERVER_ERROR.sandboxMissing) {
      // The attempt ended (submitted, expired) while this page looked elsewhere.
      setStatusText(this.status, '');
      await this.options.onAttemptNotRunning().catch(() => undefined);
      if (!this.ended) setStatusText(this.status, err.message);
      return;
    }
    const text = errorText(err, 'Your work could not be checked.');
    setStatusText(this.status, text);
    this.options.announce(text);
  }

  /** The server asked for a pause: count it down next to the button, then offer the button again. */
  private startWaiting(seconds: number, reason = ''): void {
    this.stopWaiting();
    this.waitUntil = Date.now() + Math.max(1, seconds) * 1000;
    this.options.announce(`You can check again in ${plural(Math.max(1, seconds), 'second')}.`);
    const tick = (): void => {
      const left = Math.ceil((this.waitUntil - Date.now()) / 1000);
      if (left <= 0 || this.ended) {
        this.stopWaiting();
        return;
      }
      const text = `${reason ? `${reason} ` : ''}You can check again in ${left} s`;
      if (this.status.textContent !== text) setStatusText(this.status, text);
      this.status.dataset['state'] = 'waiting';
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
      if (this.status.dataset['state'] === 'waiting') setStatusText(this.status, '');
    }
    this.renderCheckButton();
  }

  private renderCheckButton(): void {
    const button = this.button;
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

  private render(): void {
    const run = this.lastRun;
    // Advisory checks count once a reviewer confirms them: never in the points shown here.
    const maxScore = run?.maxScore ?? this.checks.reduce((sum, c) => sum + (c.advisory ? 0 : c.points), 0);
    if (run) {
      this.score.textContent = `${run.score} / ${maxScore} points${run.pendingPoints ? ` (+${run.pendingPoints} judged by a reviewer)` : ''}`;
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
    this.list.replaceChildren(...rows);
    this.renderCheckButton();
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
      check.advisory || result?.advisory
        ? h('span', { class: 'check-advisory', 'data-testid': 'check-advisory', title: 'A reviewer decides whether it counts' }, 'advisory')
        : null,
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
