// The editor's file tree: the folders the exercise lets the editor open, as nested lists (folders fold with the
// native <details>, files are buttons). Links are shown with where they point and are never opened. When the attempt
// may transfer files, each file has a Download link and files dropped onto a folder are uploaded there.

import { h, type Scope } from '../dom.js';
import type { FileEntry, FileTree, TransferPolicy } from '../../../contract/files.js';

/** Downloads and drops, when the attempt allows them. */
export interface TreeTransfer {
  downloadUrl(path: string): string;
  /** Files dropped onto `folder`. */
  onDrop(folder: string, files: File[]): void;
}

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
  private policy: TransferPolicy = { upload: false, download: false };

  constructor(
    scope: Scope,
    private readonly onOpen: (path: string) => void,
    private readonly transfer?: TreeTransfer,
  ) {
    // Drag and drop from the desktop: onto a folder (its summary or its list), or anywhere else in the tree (the
    // first folder).
    const folderOf = (event: DragEvent): string | null => {
      const details = (event.target as Element | null)?.closest?.('details[data-path]') as HTMLElement | null;
      return details?.dataset['path'] ?? this.seenRoots.values().next().value ?? null;
    };
    scope.listen(this.element, 'dragover', (event) => {
      if (!this.policy.upload || !event.dataTransfer?.types.includes('Files')) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      this.element.classList.add('is-drop-target');
    });
    scope.listen(this.element, 'dragleave', () => this.element.classList.remove('is-drop-target'));
    scope.listen(this.element, 'drop', (event) => {
      this.element.classList.remove('is-drop-target');
      if (!this.policy.upload || !event.dataTransfer || event.dataTransfer.files.length === 0) return;
      event.preventDefault();
      const folder = folderOf(event);
      if (folder) this.transfer?.onDrop(folder, [...event.dataTransfer.files]);
    });
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

  render(tree: FileTree & { transfer?: TransferPolicy }): void {
    this.policy = this.transfer && tree.transfer ? tree.transfer : { upload: false, download: false };
    this.element.dataset['upload'] = String(this.policy.upload);
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

  /** The folders of the tree (the first is where an upload goes by default). */
  roots(): string[] {
    return [...this.seenRoots];
  }

  /** Whether a file is listed at `path` (an upload then replaces it). */
  has(path: string): boolean {
    return this.element.querySelector(`[data-path="${CSS.escape(path)}"]`) !== null;
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
    const download =
      this.policy.download && this.transfer && entry.type === 'file'
        ? h(
            'a',
            {
              class: 'file-download',
              href: this.transfer.downloadUrl(entry.path),
              download: name,
              title: `Download ${entry.path}`,
              'aria-label': `Download ${name}`,
              'data-testid': `download-${entry.path}`,
            },
            '⤓',
          )
        : null;
    return h(
      'li',
      { class: download ? 'file-row' : null },
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
      download,
    );
  }
}
