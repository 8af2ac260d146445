// Skip links: visible when focused, so Tab from the top of the page jumps straight to where the work is.

import { h, type Scope } from '../dom.js';

export interface SkipLink {
  label: string;
  testid: string;
  go: () => void;
}

export function skipLinks(scope: Scope, links: SkipLink[]): HTMLElement {
  const link = ({ label, testid, go }: SkipLink): HTMLElement => {
    const a = h('a', { href: '#', 'data-testid': testid }, label);
    // Handled here: the router would otherwise treat the link as a navigation.
    a.addEventListener(
      'click',
      (event) => {
        event.preventDefault();
        go();
      },
      { signal: scope.signal },
    );
    return a;
  };
  return h('nav', { class: 'skip-links', 'aria-label': 'Skip links' }, ...links.map(link));
}
