// The countdown's two warnings, at 10 and at 2 minutes left: a visible notice at the top of the workspace and a
// polite announcement for screen readers, each at most once per attempt (a reload does not repeat them). A page
// opened with less time left shows only the warning for where the clock is now, never both in a row. A deadline
// moved later (the invite was extended) makes the warnings due again.

import { h, type Scope } from '../dom.js';
import { DANGER_MS, WARN_MS } from '../ui/countdown.js';
import { formatDurationWords } from '../ui/format.js';

/** How long a notice stays on screen unless dismissed. */
const VISIBLE_MS = 20_000;
/** A crossing seen within this much of the threshold is "10 minutes left"; later it is "less than". */
const ON_TIME_MS = 5_000;

type Level = 0 | 1 | 2;

const THRESHOLDS: Record<1 | 2, number> = { 1: WARN_MS, 2: DANGER_MS };

export function levelFor(remainingMs: number): Level {
  if (remainingMs <= DANGER_MS) return 2;
  if (remainingMs <= WARN_MS) return 1;
  return 0;
}

export class TimeWarnings {
  /** Fixed at the top of the page; empty unless a notice is showing. */
  readonly element = h('div', { class: 'time-warning-host' });
  private notified: Level;
  private cancelHide: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly attemptId: string,
    private readonly scope: Scope,
    /** Says the text through the page's polite live region. */
    private readonly announce: (text: string) => void,
    /** The notice was dismissed while it had the focus: put the focus somewhere useful. */
    private readonly onDismissedWithFocus: () => void,
  ) {
    this.notified = readNotified(attemptId);
  }

  /** Called on every tick of the countdown. */
  update(remainingMs: number): void {
    if (this.stopped) return;
    const level = levelFor(remainingMs);
    if (level < this.notified) {
      // More time than when we warned: the deadline moved. Warn again when the clock gets there.
      this.notified = level;
      writeNotified(this.attemptId, level);
      if (level === 0) this.hide();
      return;
    }
    if (level === 0 || level === this.notified) return;
    this.notified = level;
    writeNotified(this.attemptId, level);
    const threshold = THRESHOLDS[level];
    const words = formatDurationWords(threshold);
    const left = remainingMs >= threshold - ON_TIME_MS ? `${words} left.` : `Less than ${words} left.`;
    const text = `${left} Your work is saved and submitted for you when the time is up.`;
    this.show(text, level === 2 ? 'danger' : 'warn');
    this.announce(text);
  }

  /** The attempt ended: no more warnings, and none left on screen. */
  stop(): void {
    this.stopped = true;
    this.hide();
    forgetNotified(this.attemptId);
  }

  private show(text: string, level: 'warn' | 'danger'): void {
    this.hide();
    const dismiss = h(
      'button',
      { type: 'button', class: 'button button-small', 'data-testid': 'time-warning-dismiss' },
      'Dismiss',
    );
    const notice = h(
      'div',
      { class: 'time-warning', 'data-testid': 'time-warning', 'data-level': level },
      h('p', { class: 'time-warning-text' }, text),
      dismiss,
    );
    dismiss.addEventListener(
      'click',
      () => {
        // The focus was on the notice's button; it would otherwise fall back to the page itself.
        const hadFocus = notice.contains(document.activeElement);
        this.hide();
        if (hadFocus) this.onDismissedWithFocus();
      },
      { signal: this.scope.signal },
    );
    this.element.replaceChildren(notice);
    this.cancelHide = this.scope.timeout(() => this.hide(), VISIBLE_MS);
  }

  private hide(): void {
    this.cancelHide?.();
    this.cancelHide = null;
    this.element.replaceChildren();
  }
}

const KEY = (attemptId: string): string => `opslab.timeWarned.${attemptId}`;

function readNotified(attemptId: string): Level {
  try {
    const value = Number(localStorage.getItem(KEY(attemptId)) ?? '0');
    return value === 1 || value === 2 ? value : 0;
  } catch {
    return 0;
  }
}

function writeNotified(attemptId: string, level: Level): void {
  try {
    if (level === 0) localStorage.removeItem(KEY(attemptId));
    else localStorage.setItem(KEY(attemptId), String(level));
  } catch {
    // Storage may be disabled: a reload may then warn once more.
  }
}

function forgetNotified(attemptId: string): void {
  try {
    localStorage.removeItem(KEY(attemptId));
  } catch {
    // As above.
  }
}
