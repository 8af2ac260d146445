// The workspace's editor panel, above the terminal: a file tree of the exercise's folders and a code editor.
// Saves go through the server to the sandbox (Ctrl/Cmd+S or Save); the file is read again whenever the panel gets
// the focus, so a change made in the shell shows up; when both changed, the candidate chooses: overwrite or reload.
// Binary and large files are not opened (the terminal can). The panel folds away to give the terminal the room.
// When the attempt allows it, Upload puts files into the workspace (or drop them onto a folder of the tree) and the
// tree offers downloads of single files and of the whole workspace as a .tar.gz; the server checks either way.

import './editor.css';
import { ApiError, isAbort } from '../api.js';
import { h, type Scope } from '../dom.js';
import { TRANSFER_LIMITS, type FileContent, type TransferPolicy } from '../../../contract/files.js';
import { confirmDialog } from '../ui/dialog.js';
import { errorText } from '../ui/errors.js';
import type { CodeEditor } from './code-editor.js';
import { FileTreeView } from './file-tree.js';
import { FILE_ERROR, filesApi } from './files-api.js';

/** Where the browser remembers whether the candidate unfolded the panel (folded until they do). */
const OPEN_KEY = 'opslab.editor.open';

/** The panel reads the tree and the open file again on focus at most this often. */
const REFRESH_MS = 1_000;

export interface EditorPaneOptions {
  attemptId: string;
  scope: Scope;
  /** Says something to screen readers (the workspace's live region). */
  announce(text: string): void;
  /** F6 / Shift+F6 inside the panel. */
  onLeave(direction: 'forward' | 'backward'): void;
  /** The panel was folded or unfolded (the terminal's size changes). */
  onToggle(): void;
}

interface OpenFile {
  path: string;
  /** The version the editor loaded (null: a file not in the sandbox yet). */
  version: string | null;
  /** The text as loaded or last saved. */
  saved: string;
}

export class EditorPane {
  readonly element: HTMLElement;
  private readonly toggle: HTMLButtonElement;
  private readonly body: HTMLElement;
  private readonly tree: FileTreeView;
  private readonly fileName = h('span', { class: 'editor-file', 'data-testid': 'editor-file' }, 'No file open');
  private readonly modified = h('span', { class: 'editor-modified', 'data-testid': 'editor-modified', hidden: true }, 'Modified');
  private readonly saveButton = h('button', { type: 'button', class: 'button button-small button-primary', 'data-testid': 'editor-save', disabled: true }, 'Save');
  private readonly reloadButton = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'editor-reload', disabled: true }, 'Reload');
  private readonly uploadInput = h('input', { type: 'file', multiple: true, hidden: true, 'data-testid': 'editor-upload-input' }) as HTMLInputElement;
  private readonly uploadButton = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'editor-upload', hidden: true }, 'Upload');
  private readonly downloadAll = h('a', { class: 'button button-small', 'data-testid': 'editor-download-all', hidden: true }, 'Download all') as HTMLAnchorElement;
  private readonly message = h('div', { class: 'editor-message', 'data-testid': 'editor-message', role: 'status' });
  private readonly host = h('div', { class: 'editor-host' });
  private editor: CodeEditor | null = null;
  private file: OpenFile | null = null;
  private ended = false;
  private saving = false;
  private lastRefresh = 0;
  private enabled = false;

  constructor(private readonly options: EditorPaneOptions) {
    const { scope } = options;
    this.tree = new FileTreeView(scope, (path) => void this.open(path), {
      downloadUrl: (path) => filesApi.downloadUrl(options.attemptId, path),
      onDrop: (folder, files) => void this.upload(folder, files),
    });
    this.downloadAll.href = filesApi.workspaceUrl(options.attemptId);
    this.downloadAll.setAttribute('download', 'workspace.tar.gz');
    this.downloadAll.title = "Download the exercise's folders as a .tar.gz";
    this.toggle = h(
      'button',
      { type: 'button', class: 'editor-toggle', 'aria-expanded': 'true', 'aria-controls': 'editor-body', 'data-testid': 'editor-toggle' },
      'Editor',
    );
    this.body = h('div', { class: 'editor-body', id: 'editor-body' }, this.tree.element, h('div', { class: 'editor-main' }, this.message, this.host));
    this.element = h(
      'section',
      { class: 'editor-pane', role: 'region', 'aria-label': 'Editor', 'data-testid': 'editor-pane', hidden: true },
      h(
        'div',
        { class: 'editor-bar' },
        this.toggle,
        this.fileName,
        this.modified,
        h('span', { class: 'editor-actions' }, this.uploadButton, this.uploadInput, this.downloadAll, this.reloadButton, this.saveButton),
      ),
      this.body,
    );
    scope.listen(this.toggle, 'click', () => {
      const open = this.element.dataset['state'] !== 'open';
      this.setOpen(open);
      try {
        localStorage.setItem(OPEN_KEY, String(open));
      } catch {
        // Storage may be off: the panel then starts folded each time.
      }
      if (open) void this.refresh(true);
    });
    let remembered = false;
    try {
      remembered = localStorage.getItem(OPEN_KEY) === 'true';
    } catch {
      remembered = false;
    }
    this.setOpen(remembered, false);
    scope.listen(this.saveButton, 'click', () => void this.save());
    scope.listen(this.uploadButton, 'click', () => this.uploadInput.click());
    scope.listen(this.uploadInput, 'change', () => {
      const files = [...(this.uploadInput.files ?? [])];
      this.uploadInput.value = '';
      const folder = this.tree.roots()[0];
      if (folder && files.length > 0) void this.upload(folder, files);
    });
    scope.listen(this.reloadButton, 'click', () => void this.reload(true));
    // Coming back to the panel (from the shell, most likely): what the shell changed shows up.
    scope.listen(this.element, 'focusin', (event) => {
      if (event.relatedTarget instanceof Node && this.element.contains(event.relatedTarget)) return;
      void this.refresh();
    });
    scope.listen(this.element, 'keydown', (event) => {
      if (event.key === 'F6' && !event.ctrlKey && !event.altKey && !event.metaKey) {
        event.preventDefault();
        event.stopPropagation();
        this.options.onLeave(event.shiftKey ? 'backward' : 'forward');
        return;
      }
      // Ctrl/Cmd+S anywhere in the panel (the tree, the buttons) saves, instead of the browser's "Save page".
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 's') {
        event.preventDefault();
        void this.save();
      }
    });
    scope.add(() => this.editor?.destroy());
  }

  /** The exercise says whether it has the editor; a running attempt then loads the tree. */
  async enable(on: boolean): Promise<void> {
    this.enabled = on && !this.ended;
    this.element.hidden = !this.enabled;
    this.options.onToggle();
    if (!this.enabled) return;
    const { CodeEditor } = await import('./code-editor.js');
    if (this.options.scope.disposed || this.editor) return;
    this.editor = new CodeEditor({
      parent: this.host,
      label: 'File contents',
      onSave: () => void this.save(),
      onChange: () => this.updateModified(),
    });
    this.editor.setReadOnly(true);
    await this.refresh(true);
  }

  get visible(): boolean {
    return this.enabled && !this.element.hidden;
  }

  /** Focuses the open file (or the tree); false when the panel is hidden or folded. */
  focus(): boolean {
    if (!this.visible) return false;
    if (this.element.dataset['state'] !== 'open') {
      this.toggle.focus();
      return true;
    }
    if (this.file && this.editor) this.editor.focus();
    else (this.tree.firstButton() ?? this.toggle).focus();
    return true;
  }

  /** The attempt is over: nothing more is saved; the panel folds away. */
  end(): void {
    this.ended = true;
    this.editor?.setReadOnly(true);
    this.saveButton.disabled = true;
    this.reloadButton.disabled = true;
    this.setTransfer({ upload: false, download: false });
    this.element.hidden = true;
    this.enabled = false;
    this.options.onToggle();
  }

  private setOpen(open: boolean, notify = true): void {
    this.element.dataset['state'] = open ? 'open' : 'closed';
    this.toggle.setAttribute('aria-expanded', String(open));
    this.body.hidden = !open;
    if (notify) this.options.onToggle();
  }

  /** Reads the tree and, when the open file is unchanged here, the file again (at most every REFRESH_MS). */
  private async refresh(force = false): Promise<void> {
    if (!this.enabled || this.ended) return;
    if (!force && Date.now() - this.lastRefresh < REFRESH_MS) return;
    this.lastRefresh = Date.now();
    try {
      const tree = await filesApi.tree(this.options.attemptId, this.options.scope.signal);
      this.tree.render(tree);
      this.setTransfer(tree.transfer ?? { upload: false, download: false });
      this.tree.select(this.file?.path ?? null);
    } catch (err) {
      if (isAbort(err) || this.options.scope.disposed) return;
      this.showMessage('error', errorText(err, 'The files could not be listed.'));
      return;
    }
    if (this.file) await this.reload(false);
  }

  /** Shows Upload and Download all as the attempt allows (the server refuses the others anyway). */
  private setTransfer(policy: TransferPolicy): void {
    this.uploadButton.hidden = !policy.upload || this.ended;
    this.downloadAll.hidden = !policy.download || this.ended;
  }

  /** Uploads `files` into `folder`, one by one; asks before replacing a file. */
  private async upload(folder: string, files: File[]): Promise<void> {
    if (this.ended) return;
    for (const file of files) {
      const path = `${folder}/${file.name}`;
      if (file.size > TRANSFER_LIMITS.maxUploadBytes) {
        this.showMessage('error', `${file.name} is ${Math.ceil(file.size / 1024)} KiB: an upload holds at most ${TRANSFER_LIMITS.maxUploadBytes / (1024 * 1024)} MiB.`);
        continue;
      }
      if (this.tree.has(path)) {
        const replace = await confirmDialog({
          title: 'Replace the file?',
          body: `${path} is already in the sandbox. Replace it with the file you upload?`,
          confirmLabel: 'Replace',
          cancelLabel: 'Keep it',
          signal: this.options.scope.signal,
        });
        if (!replace) continue;
      }
      try {
        const uploaded = await filesApi.upload(this.options.attemptId, path, file, this.options.scope.signal);
        this.showMessage('info', `Uploaded ${uploaded.path} (${uploaded.size} bytes).`);
        this.options.announce(`Uploaded ${uploaded.path}.`);
      } catch (err) {
        if (isAbort(err) || this.options.scope.disposed) return;
        this.showMessage('error', errorText(err, `${file.name} could not be uploaded.`));
      }
    }
    await this.refresh(true);
  }

  private async open(path: string): Promise<void> {
    if (!this.editor) return;
    if (this.file && this.isModified() && this.file.path !== path) {
      const drop = await confirmDialog({
        title: 'Unsaved changes',
        body: `${this.file.path} has changes that are not saved. Open ${path} and drop them?`,
        confirmLabel: 'Drop my changes',
        cancelLabel: 'Keep editing',
        signal: this.options.scope.signal,
      });
      if (!drop) return;
    }
    let content: FileContent;
    try {
      content = await filesApi.read(this.options.attemptId, path, this.options.scope.signal);
    } catch (err) {
      if (isAbort(err) || this.options.scope.disposed) return;
      this.file = null;
      this.editor.load('', path, true);
      this.fileName.textContent = path;
      this.tree.select(null);
      this.updateModified();
      const unsupported = err instanceof ApiError && (err.code === FILE_ERROR.unsupported || err.code === FILE_ERROR.path);
      this.showMessage(unsupported ? 'info' : 'error', errorText(err, `${path} could not be opened.`), unsupported ? 'editor-readonly' : undefined);
      return;
    }
    this.file = { path, version: content.version, saved: content.content };
    this.editor.load(content.content, path, this.ended);
    this.fileName.textContent = path;
    this.fileName.title = path;
    this.tree.select(path);
    this.clearMessage();
    this.updateModified();
    this.editor.focus();
    this.options.announce(`Opened ${path}.`);
  }

  /**
   * Reads the open file again. Unchanged here: the editor takes the sandbox's text. Changed here and there: the
   * conflict prompt. `explicit`: the Reload button (which drops the changes made here, after asking).
   */
  private async reload(explicit: boolean): Promise<void> {
    const file = this.file;
    if (!file || !this.editor) return;
    if (
      explicit &&
      this.isModified() &&
      !(await confirmDialog({
        title: 'Reload the file?',
        body: 'Your changes are dropped and the file is loaded as it is in the sandbox.',
        confirmLabel: 'Reload',
        cancelLabel: 'Keep editing',
        signal: this.options.scope.signal,
      }))
    ) {
      return;
    }
    let current: FileContent | null;
    try {
      current = await filesApi.read(this.options.attemptId, file.path, this.options.scope.signal);
    } catch (err) {
      if (isAbort(err) || this.options.scope.disposed) return;
      if (err instanceof ApiError && err.code === FILE_ERROR.notFound) current = null;
      else {
        this.showMessage('error', errorText(err, `${file.path} could not be read again.`));
        return;
      }
    }
    if (this.file !== file) return;
    if (current?.version === file.version && !explicit) return;
    if (this.isModified() && !explicit) {
      this.conflict(current, `${file.path} changed in the sandbox while you were editing it.`);
      return;
    }
    this.take(current);
    if (!explicit) this.options.announce(`${file.path} was updated from the sandbox.`);
  }

  /** The editor shows `current` (the sandbox's file) as its unmodified text. */
  private take(current: FileContent | null): void {
    if (!this.file || !this.editor) return;
    this.file = { path: this.file.path, version: current?.version ?? null, saved: current?.content ?? '' };
    this.editor.replace(this.file.saved);
    this.clearMessage();
    if (!current) this.showMessage('info', `${this.file.path} is no longer in the sandbox: Save creates it again.`);
    this.updateModified();
  }

  private async save(overwrite?: { version: string | null }): Promise<void> {
    const file = this.file;
    if (!file || !this.editor || this.ended || this.saving) return;
    this.saving = true;
    this.saveButton.disabled = true;
    this.saveButton.textContent = 'Saving…';
    const text = this.editor.text;
    try {
      const result = await filesApi.save(this.options.attemptId, file.path, text, overwrite ? overwrite.version : file.version, this.options.scope.signal);
      if (this.file !== file) return;
      if (result.kind === 'conflict') {
        this.conflict(result.current, result.message);
        return;
      }
      this.file = { path: file.path, version: result.saved.version, saved: text };
      this.clearMessage();
      this.options.announce(`Saved ${file.path}.`);
    } catch (err) {
      if (isAbort(err) || this.options.scope.disposed) return;
      this.showMessage('error', errorText(err, `${file.path} could not be saved.`));
    } finally {
      this.saving = false;
      this.saveButton.textContent = 'Save';
      this.updateModified();
    }
  }

  /** Both changed: overwrite the sandbox's file with the editor's text, or reload it. */
  private conflict(current: FileContent | null, text: string): void {
    const overwrite = h('button', { type: 'button', class: 'button button-small button-primary', 'data-testid': 'conflict-overwrite' }, 'Overwrite with mine');
    const reload = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'conflict-reload' }, 'Reload from the sandbox');
    overwrite.addEventListener('click', () => void this.save({ version: current?.version ?? null }), { signal: this.options.scope.signal });
    reload.addEventListener('click', () => this.take(current), { signal: this.options.scope.signal });
    this.message.replaceChildren(h('p', {}, text), h('span', { class: 'editor-message-actions' }, overwrite, reload));
    this.message.dataset['kind'] = 'conflict';
    this.message.hidden = false;
    this.options.announce(`${text} Choose overwrite or reload.`);
  }

  private showMessage(kind: 'info' | 'error', text: string, testid?: string): void {
    this.message.replaceChildren(h('p', { 'data-testid': testid ?? null }, text));
    this.message.dataset['kind'] = kind;
    this.message.hidden = false;
  }

  private clearMessage(): void {
    this.message.replaceChildren();
    this.message.hidden = true;
    delete this.message.dataset['kind'];
  }

  private isModified(): boolean {
    return !!this.file && !!this.editor && this.editor.text !== this.file.saved;
  }

  private updateModified(): void {
    const modified = this.isModified();
    this.modified.hidden = !modified;
    this.element.dataset['modified'] = String(modified);
    this.saveButton.disabled = !this.file || this.ended || this.saving;
    this.reloadButton.disabled = !this.file || this.ended;
  }
}
