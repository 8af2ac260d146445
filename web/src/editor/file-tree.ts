// The editor's file tree: the folders the exercise lets the editor open, as nested lists (folders fold with the
// native <details>, files are buttons). Links are shown with where they point and are never opened.

import { h, type Scope } from '../dom.js';
import type { FileEntry, FileTree } from '../../../contract/files.js';

interface TreeNode {
  entry: FileEntry;
  children: TreeNode[];
}

const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** Folders first, then by name. */
function sortNodes(nodes: TreeNode[]): TreeNode[] {
  return nodes.sort((a, b) => {
    const da = a.entry.type === 'directory' ? 0 : 1;
    const db = b.entry.type === 'directory' ? 0 : 1;
    return da - db || nameOf(a.entry.path).localeCompare(nameOf(b.entry.path));
  });
}

export class FileTreeView {
  readonly element = h('nav', { class: 'file-tree', 'aria-label': 'Files', 'data-testid': 'file-tree' });
  /** Folders the candidate opened (kept across refreshes); roots start open. */
  private readonly open = new Set<string>();
  private selected: string | null = null;
  private seenRoots = new Set<string>();

  constructor(
    private readonly scope: Scope,
    private readonly onOpen: (path: string) => void,
  ) {
    scope.listen(this.element, 'click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('button[data-path]');
      if (!button || button.disabled) return;
      this.onOpen(button.dataset['path']!);
    });
    // 'toggle' does not bubble: listened to on the way down.
    this.element.addEventListener(
      'toggle',
      (event) => {
        const details = event.target as HTMLDetailsElement;
        const path = details.dataset['path'];
        if (!path) return;
        if (details.open) this.open.add(path);
        else this.open.delete(path);
      },
      { capture: true, signal: scope.signal },
    );
  }

  render(tree: FileTree): void {
    const byPath = new Map<string, TreeNode>();
    const tops: TreeNode[] = [];
    for (const root of tree.roots) {
      const node: TreeNode = { entry: { path: root, type: 'directory', size: 0 }, children: [] };
      byPath.set(root, node);
      tops.push(node);
      if (!this.seenRoots.has(root)) {
        this.seenRoots.add(root);
        this.open.add(root);
      }
    }
    for (const entry of tree.entries) {
      const node: TreeNode = { entry, children: [] };
      byPath.set(entry.path, node);
      const parent = byPath.get(entry.path.slice(0, entry.path.lastIndexOf('/')));
      parent?.children.push(node);
    }
    const list = h('ul', { class: 'file-tree-list', role: 'list' }, ...tops.map((n) => this.item(n, true)));
    const note = tree.truncated
      ? h('p', { class: 'file-tree-note' }, 'Not every file is listed (too many, or too deep): open others from the terminal.')
      : null;
    this.element.replaceChildren(...(note ? [list, note] : [list]));
  }

  select(path: string | null): void {
    this.selected = path;
    for (const button of this.element.querySelectorAll<HTMLButtonElement>('button[data-path]')) {
      const on = button.dataset['path'] === path;
      button.classList.toggle('is-selected', on);
      if (on) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
    }
  }

  /** The first file's button (keyboard entry into the tree). */
  firstButton(): HTMLButtonElement | null {
    return this.element.querySelector<HTMLButtonElement>('button[data-path]:not([disabled])');
  }

  private item(node: TreeNode, isRoot = false): HTMLElement {
    const { entry } = node;
    const name = isRoot ? entry.path : nameOf(entry.path);
    if (entry.type === 'directory') {
      const details = h(
        'details',
        { 'data-path': entry.path, open: this.open.has(entry.path) },
        h('summary', { class: 'file-dir', title: entry.path }, name),
        node.children.length > 0
          ? h('ul', { class: 'file-tree-list', role: 'list' }, ...sortNodes(node.children).map((c) => this.item(c)))
          : h('p', { class: 'file-tree-empty' }, 'empty'),
      );
      return h('li', {}, details);
    }
    if (entry.type === 'symlink') {
      return h(
        'li',
        {},
        h(
          'button',
          { type: 'button', class: 'file-node file-link', disabled: true, 'data-path': entry.path, title: `A link to ${entry.linkTarget ?? '?'}: the editor does not follow links` },
          `${name} → ${entry.linkTarget ?? '?'}`,
        ),
      );
    }
    const selected = entry.path === this.selected;
    return h(
      'li',
      {},
      h(
        'button',
        {
          type: 'button',
          class: `file-node${selected ? ' is-selected' : ''}`,
          'data-path': entry.path,
          'data-testid': `file-${entry.path}`,
          'aria-current': selected ? 'true' : null,
          disabled: entry.type !== 'file',
          title: entry.type === 'file' ? entry.path : `${entry.path} (not a regular file)`,
        },
        name,
      ),
    );
  }
}
