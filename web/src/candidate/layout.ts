// Pieces shared by the candidate's pages (landing, done).

import { h } from '../dom.js';

/** The product name without a link: a candidate has nowhere else to go on this platform. */
export function candidateHeader(): HTMLElement {
  return h('header', { class: 'site-header' }, h('span', { class: 'brand' }, 'opslab'));
}

/** "1 h 30 min", "45 min", "2 min 30 s". */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '—';
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const parts: string[] = [];
  if (hours) parts.push(`${hours} h`);
  if (minutes) parts.push(`${minutes} min`);
  if (secs && !hours) parts.push(`${secs} s`);
  return parts.join(' ');
}
