import { h } from '../dom.js';

/** The slim bar with the product name that every page except the workspace shows. */
export function siteHeader(): HTMLElement {
  return h('header', { class: 'site-header' }, h('a', { href: '/', class: 'brand' }, 'opslab'));
}

export function spinner(): HTMLElement {
  return h('span', { class: 'spinner', 'aria-hidden': 'true' });
}

export function setDocumentTitle(title: string | null): void {
  document.title = title ? `${title} · opslab` : 'opslab';
}
