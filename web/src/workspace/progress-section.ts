// What the progress panel and its two sections (checks, hints) share: their options and the status line.

import { h, type Scope } from '../dom.js';

export interface ProgressPanelOptions {
  attemptId: string;
  scope: Scope;
  /** The server says the attempt is not running any more: refetch it, so that the workspace shows its end. */
  onAttemptNotRunning: () => Promise<void>;
}

/** What the panel hands each of its sections. */
export interface SectionOptions extends ProgressPanelOptions {
  /** For screen readers. */
  announce(text: string): void;
  /** What the section offers changed: show or hide it. */
  onVisibility(): void;
}

/** The status line under a section: sets the text (only when it changed) and drops any special state. */
export function setStatusText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
  delete el.dataset['state'];
}

/** A section of the panel: its heading with the section's button, then its content; hidden until there is some. */
export function sectionElement(name: 'checks' | 'hints', title: (string | Node)[], button: HTMLElement, ...content: HTMLElement[]): HTMLElement {
  const section = h(
    'section',
    { class: 'progress-section', 'aria-labelledby': `progress-${name}-heading`, 'data-testid': `${name}-section` },
    h('div', { class: 'progress-head' }, h('h2', { class: 'progress-title', id: `progress-${name}-heading` }, ...title), button),
    ...content,
  );
  section.hidden = true;
  return section;
}
