// Placeholder until this page is built.
import { h } from '../../dom.js';
import type { PageContext } from '../../router.js';

export default function page({ root }: PageContext): void {
  root.append(h('main', { class: 'page page-narrow' }, h('p', {}, 'This page is not available yet.')));
}
