// The banners above the workspace's terminal: one slot for the shell (it exited: restart it) and one for the
// connection (lost, closed, open in another tab), each with the button that mends it. At the end of an attempt
// its ended banner replaces them.

import { h, type Scope } from '../dom.js';

export type BannerSlot = 'shell' | 'connection';
export type BannerLevel = 'info' | 'warn' | 'error';

export interface BannerAction {
  label: string;
  testid: string;
  action: (button: HTMLButtonElement) => void;
}

/** A lost connection that has not come back after this long gets a banner (the status pill shows it at once). */
const LOST_BANNER_DELAY_MS = 1_500;

export class WorkspaceBanners {
  readonly element = h('div', { class: 'banner-area' });
  private cancelLost: (() => void) | null = null;

  constructor(private readonly scope: Scope) {}

  /** Shows a banner in `slot` (replacing the one there); returns its button. */
  show(slot: BannerSlot, level: BannerLevel, text: string, action: BannerAction): HTMLButtonElement {
    this.clear(slot);
    const button = h('button', { type: 'button', class: 'button button-primary', 'data-testid': action.testid }, action.label);
    button.addEventListener('click', () => action.action(button), { signal: this.scope.signal });
    this.element.append(
      h(
        'div',
        { class: `banner banner-${level}`, role: 'alert', 'data-slot': slot, 'data-testid': `${slot}-banner` },
        h('p', { class: 'banner-text' }, text),
        button,
      ),
    );
    return button;
  }

  clear(slot: BannerSlot): void {
    this.slot(slot)?.remove();
  }

  /** The first banner's button: F6 out of the terminal goes there first. */
  firstButton(): HTMLButtonElement | null {
    return this.element.querySelector<HTMLButtonElement>('button');
  }

  /** Only `banner` stays (the attempt ended). */
  replaceAll(banner: HTMLElement): void {
    this.cancelLostBanner();
    this.element.replaceChildren(banner);
  }

  /**
   * The connection dropped and reconnects by itself. A blip shows only in the status pill; one that lasts gets
   * a banner saying that nothing is lost, with a way to try at once.
   */
  scheduleLostBanner(stillLost: () => boolean, reconnect: () => void): void {
    if (this.cancelLost || this.slot('connection')) return;
    this.cancelLost = this.scope.timeout(() => {
      this.cancelLost = null;
      if (!stillLost()) return;
      const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
      const text = offline
        ? 'You seem to be offline. We reconnect as soon as your network is back. Your shell keeps running and the clock does not stop.'
        : 'The connection to your sandbox was lost. Reconnecting automatically… Your shell keeps running and the clock does not stop.';
      this.show('connection', 'warn', text, { label: 'Reconnect now', testid: 'reconnect-now', action: reconnect });
      this.slot('connection')?.setAttribute('data-kind', 'lost');
    }, LOST_BANNER_DELAY_MS);
  }

  cancelLostBanner(): void {
    this.cancelLost?.();
    this.cancelLost = null;
  }

  private slot(slot: BannerSlot): HTMLElement | null {
    return this.element.querySelector<HTMLElement>(`[data-slot="${slot}"]`);
  }
}
