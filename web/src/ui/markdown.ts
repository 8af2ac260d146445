// Exercise instructions: Markdown rendered with marked, then sanitised with DOMPurify before it touches the DOM.

import DOMPurify from 'dompurify';
import { marked } from 'marked';

export function renderMarkdown(markdown: string): DocumentFragment {
  const html = marked.parse(markdown, { async: false, gfm: true, breaks: false });
  const fragment = DOMPurify.sanitize(html, {
    RETURN_DOM_FRAGMENT: true,
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
  });
  for (const link of fragment.querySelectorAll<HTMLAnchorElement>('a[href]')) {
    const href = link.getAttribute('href') ?? '';
    if (href.startsWith('#')) continue;
    // External pages must not get a handle on the workspace (window.opener) nor the attempt URL as referrer.
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
  }
  return fragment;
}
