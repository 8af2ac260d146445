// Any path no route claims.

import { h } from '../dom.js';
import type { PageContext } from '../router.js';
import { setDocumentTitle, siteHeader } from '../ui/layout.js';

export default function notFoundPage({ root }: PageContext): void {
  setDocumentTitle('Page not found');
  const heading = h('h1', { tabindex: -1 }, 'Page not found');
  root.append(
    siteHeader(),
    h(
      'main',
      { class: 'page page-narrow', 'data-testid': 'not-found' },
      heading,
      h('p', {}, 'There is nothing at ', h('code', {}, location.pathname), '.'),
      h('p', {}, h('a', { href: '/', class: 'button' }, 'Go to the exercises')),
    ),
  );
  heading.focus({ preventScroll: true });
}
