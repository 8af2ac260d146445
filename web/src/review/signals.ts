// The signals reviewers of timed assessments expect, shown as facts: pastes, the tab hidden or out of focus, idle
// stretches (computed by the server from the recording) and files uploaded or downloaded, as rows of the timeline,
// and a small summary above it. Plain words, no verdicts.

import { h } from '../dom.js';
import type { FileTransferEvent } from '../../../contract/files.js';
import { formatStretch, pasteText, type SignalReport } from '../../../contract/signals.js';
import type { FactRow } from './timeline.js';

const KB = 1024;
const sizeText = (bytes: number) => (bytes < KB ? `${bytes} B` : bytes < KB * KB ? `${(bytes / KB).toFixed(1)} KiB` : `${(bytes / KB / KB).toFixed(1)} MiB`);

/** The facts on the recording's clock (seconds from the start). */
export function signalFacts(
  report: SignalReport | null,
  events: { at: string; kind: string; detail: unknown }[],
  startedAt: string | null,
): FactRow[] {
  const start = startedAt ? Date.parse(startedAt) : NaN;
  if (!Number.isFinite(start)) return [];
  const at = (iso: string) => Math.max(0, (Date.parse(iso) - start) / 1000);
  const facts: FactRow[] = [];
  for (const p of report?.pastes ?? []) facts.push({ at: at(p.at), kind: 'paste', text: pasteText(p.chars, p.target) });
  for (const a of report?.away ?? []) {
    facts.push({ at: at(a.from), kind: 'away', text: `tab ${a.cause === 'hidden' ? 'hidden' : 'out of focus'} for ${formatStretch(a.ms)}` });
  }
  for (const s of report?.idle ?? []) facts.push({ at: at(s.from), kind: 'idle', text: `no input for ${formatStretch(s.ms)}` });
  for (const e of events) {
    const d = e.detail as Partial<FileTransferEvent> | null;
    if (e.kind === 'file.uploaded') facts.push({ at: at(e.at), kind: 'transfer', text: `uploaded ${d?.path ?? '?'} (${sizeText(Number(d?.bytes ?? 0))})` });
    if (e.kind === 'file.downloaded') facts.push({ at: at(e.at), kind: 'transfer', text: `downloaded ${d?.path ?? '?'} (${sizeText(Number(d?.bytes ?? 0))})` });
    if (e.kind === 'workspace.downloaded') {
      facts.push({ at: at(e.at), kind: 'transfer', text: `downloaded the workspace (${d?.entries ?? '?'} entries, ${sizeText(Number(d?.bytes ?? 0))})` });
    }
  }
  return facts.sort((x, y) => x.at - y.at);
}

/** The summary above the timeline: pastes, time away, the longest idle stretch. */
export function renderSignalSummary(report: SignalReport): HTMLElement {
  const { summary } = report;
  const item = (label: string, value: string, testid: string) =>
    h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, value));
  return h(
    'dl',
    { class: 'signal-summary', 'data-testid': 'signal-summary' },
    item('Large pastes', summary.pasteCount === 0 ? 'none' : `${summary.pasteCount} (${summary.pastedChars.toLocaleString('en-US')} characters)`, 'signal-pastes'),
    item('Time away from the tab', summary.awayCount === 0 ? 'none' : `${formatStretch(summary.awayMs)} (${summary.awayCount}×)`, 'signal-away'),
    item(`Longest idle (≥ ${summary.idleMinutes} min)`, summary.longestIdleMs === 0 ? 'none' : formatStretch(summary.longestIdleMs), 'signal-idle'),
  );
}
