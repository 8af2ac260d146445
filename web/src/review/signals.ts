// The signals reviewers of timed assessments expect, shown as facts: pastes, the tab hidden or out of focus, idle
// stretches (computed by the server from the recording) and files uploaded or downloaded, as rows of the timeline
// (contract/signals.ts `signalFacts`), and a small summary above it. Plain words, no verdicts.

import { h } from '../dom.js';
import { awayNowText, signalSummaryItems, type SignalReport } from '../../../contract/signals.js';

export { signalFacts } from '../../../contract/signals.js';

/**
 * The summary above the timeline (and on the live view): pastes, time away, the longest idle stretch, and, while
 * the page is away, since when.
 */
export function renderSignalSummary(report: SignalReport, nowMs = Date.now()): HTMLElement {
  const item = (label: string, value: string, testid: string) =>
    h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, value));
  return h(
    'dl',
    { class: 'signal-summary', 'data-testid': 'signal-summary' },
    ...signalSummaryItems(report.summary).map((i) => item(i.label, i.value, `signal-${i.key}`)),
    ...(report.awayNow ? [item('Right now', awayNowText(report.awayNow, nowMs), 'signal-away-now')] : []),
  );
}
