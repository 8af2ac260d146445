// The "Time left" countdown of a running attempt, on the server's clock: the workspace's header and the live view
// show the same one.

import { h } from '../dom.js';
import { formatClock, formatDurationWords } from './format.js';
import type { ServerClock } from './server-clock.js';

/** From here the countdown turns amber, and the workspace warns once. */
export const WARN_MS = 10 * 60_000;
/** From here the countdown turns red, and the workspace warns again. */
export const DANGER_MS = 2 * 60_000;

export class Countdown {
  private readonly value = h('span', { class: 'countdown', 'data-testid': 'countdown', role: 'timer', 'aria-label': 'Time left' }, '—');
  /** The label and the time, for the header. */
  readonly element = h(
    'span',
    { class: 'countdown-box' },
    h('span', { class: 'countdown-label', 'aria-hidden': 'true' }, 'Time left'),
    this.value,
  );

  /** Shows the time left until `deadline` (none yet: the attempt has not started); returns it in ms, or null. */
  show(deadline: string | null | undefined, clock: ServerClock): number | null {
    if (!deadline) {
      this.set('—', 'Not started yet', null);
      return null;
    }
    const remaining = clock.until(deadline);
    this.set(formatClock(remaining), `${formatDurationWords(remaining)} left`, remaining);
    return remaining;
  }

  /** The attempt is over: the time stops at "Ended". */
  end(label?: string): void {
    this.value.textContent = 'Ended';
    this.value.dataset['level'] = 'ended';
    if (label) this.value.setAttribute('aria-label', label);
  }

  private set(text: string, label: string, remaining: number | null): void {
    const value = this.value;
    if (value.textContent !== text) value.textContent = text;
    value.setAttribute('aria-label', `Time left: ${label}`);
    const level = remaining === null ? 'normal' : remaining <= DANGER_MS ? 'danger' : remaining <= WARN_MS ? 'warn' : 'normal';
    value.dataset['level'] = level;
    if (remaining !== null) value.dataset['remainingMs'] = String(Math.max(0, Math.round(remaining)));
  }
}
