// What the candidate changed: the changed paths, then the unified diff with added and removed lines marked.
// Everything here is candidate data and goes into the page as text nodes only.

import { h, type Scope } from '../dom.js';
import type { SnapshotDiffView } from './api.js';
import { classifyDiff, type DiffLineKind } from '../../../contract/diff.js';

export { classifyDiff, type DiffLineKind } from '../../../contract/diff.js';

/** Lines shown before "Show the whole diff": a huge diff should not make the page slow to open. */
const INITIAL_LINES = 4000;

const CHANGE_LABELS: Record<string, string> = {
  added: 'Added',
  removed: 'Removed',
  modified: 'Modified',
  'type-changed': 'Type changed',
};

/** The path a `+++ b/…` or `--- a/…` header names, as the changed list spells it. */
function headerPath(line: string): string | null {
  const m = /^(?:\+\+\+|---) (?:[ab](\/.*)|\/dev\/null)(?:\t.*)?$/.exec(line);
  return m?.[1] ?? null;
}

/** The path a one-line note such as "Binary file /x added" or "New directory: /x" is about: the longest that fits. */
function notePath(line: string, paths: string[]): string | null {
  let best: string | null = null;
  for (const p of paths) {
    const at = line.indexOf(` ${p}`);
    if (at < 0) continue;
    const next = line[at + 1 + p.length];
    if (next !== undefined && next !== ' ' && next !== ':') continue;
    if (!best || p.length > best.length) best = p;
  }
  return best;
}

/** For each changed path, the first line of the diff about it. */
function pathLines(lines: string[], kinds: DiffLineKind[], paths: string[]): Map<string, number> {
  const known = new Set(paths);
  const found = new Map<string, number>();
  lines.forEach((line, i) => {
    const kind = kinds[i];
    const path = kind === 'file' ? headerPath(line) : kind === 'note' ? notePath(line, paths) : null;
    if (path && known.has(path) && !found.has(path)) found.set(path, i);
  });
  return found;
}

export function renderDiffView(view: SnapshotDiffView, scope: Scope): HTMLElement {
  const lines = view.diff === '' ? [] : view.diff.replace(/\n$/, '').split('\n');
  const kinds = classifyDiff(lines);
  const firstLine = pathLines(lines, kinds, view.changed.map((c) => c.path));
  const spans: HTMLElement[] = [];
  const pre = h('pre', { class: 'diff', 'data-testid': 'diff', tabindex: '0', 'aria-label': 'Unified diff' });
  const more = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'diff-more' });

  let rendered = 0;
  const renderLines = (until: number): void => {
    const fragment = document.createDocumentFragment();
    for (; rendered < Math.min(until, lines.length); rendered++) {
      const line = lines[rendered]!;
      const kind = kinds[rendered]!;
      const span = h('span', { class: `diff-line diff-${kind}`, 'data-kind': kind }, line === '' ? ' ' : line);
      spans.push(span);
      fragment.append(span, '\n');
    }
    pre.append(fragment);
    more.hidden = rendered >= lines.length;
    more.textContent = `Show the whole diff (${lines.length - rendered} more lines)`;
  };
  renderLines(INITIAL_LINES);
  scope.listen(more, 'click', () => renderLines(lines.length));

  const list = h('ul', { class: 'diff-files', 'aria-label': 'Changed paths', 'data-testid': 'diff-files' });
  for (const item of view.changed) {
    const label = CHANGE_LABELS[item.change] ?? item.change;
    const badge = h('span', { class: 'diff-change', 'data-change': item.change }, label);
    const name = h('code', { class: 'diff-path' }, item.path);
    let entry: HTMLElement = name;
    const index = firstLine.get(item.path);
    if (index !== undefined) {
      const button = h('button', { type: 'button', class: 'diff-path-button', title: 'Show in the diff' }, name);
      scope.listen(button, 'click', () => {
        if (index >= rendered) renderLines(lines.length);
        const el = spans[index];
        if (!el) return;
        el.scrollIntoView({ block: 'start' });
        pre.focus({ preventScroll: true });
      });
      entry = button;
    }
    list.append(h('li', { class: 'diff-file-item', 'data-testid': 'diff-file', 'data-change': item.change }, badge, ' ', entry));
  }

  const added = kinds.filter((k) => k === 'add').length;
  const removed = kinds.filter((k) => k === 'del').length;
  return h(
    'div',
    { class: 'diff-view', 'data-testid': 'diff-view' },
    view.changed.length === 0
      ? h('p', { class: 'muted', 'data-testid': 'diff-empty' }, 'Nothing changed in the files the exercise looks at.')
      : h(
          'p',
          { class: 'diff-summary', 'data-testid': 'diff-summary' },
          `${view.changed.length} path${view.changed.length === 1 ? '' : 's'} changed, `,
          h('span', { class: 'diff-count-add' }, `${added} line${added === 1 ? '' : 's'} added`),
          ', ',
          h('span', { class: 'diff-count-del' }, `${removed} removed`),
        ),
    view.changed.length > 0 ? list : null,
    lines.length > 0 ? pre : null,
    lines.length > 0 ? more : null,
  );
}
