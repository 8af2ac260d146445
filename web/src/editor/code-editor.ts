// CodeMirror 6 set up for the workspace: line numbers, history, search, bracket matching, the file's language,
// Mod-S to save, and a read-only switch. Loaded on demand (its own chunk), so the terminal does not wait for it.

import { basicSetup } from 'codemirror';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { editorLanguage } from '../../../contract/files.js';
import { languageExtension } from './languages.js';

export interface CodeEditorOptions {
  parent: HTMLElement;
  /** Ctrl+S / Cmd+S inside the editor. */
  onSave(): void;
  /** The text changed (typed, pasted, undone). */
  onChange(): void;
  /** The accessible name of the editing area. */
  label: string;
}

export class CodeEditor {
  private readonly view: EditorView;
  private readonly language = new Compartment();
  private readonly readOnly = new Compartment();

  constructor(private readonly options: CodeEditorOptions) {
    this.view = new EditorView({
      parent: options.parent,
      state: this.state('', 'plain.txt', false),
    });
  }

  private state(doc: string, path: string, readOnly: boolean): EditorState {
    return EditorState.create({
      doc,
      extensions: [
        keymap.of([
          {
            key: 'Mod-s',
            preventDefault: true,
            run: () => {
              this.options.onSave();
              return true;
            },
          },
        ]),
        basicSetup,
        this.language.of(languageExtension(editorLanguage(path))),
        this.readOnly.of([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]),
        EditorView.contentAttributes.of({ 'aria-label': this.options.label, 'data-testid': 'editor-content' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) this.options.onChange();
        }),
      ],
    });
  }

  /** Shows a new file (fresh history: undo does not cross files). */
  load(doc: string, path: string, readOnly: boolean): void {
    this.view.setState(this.state(doc, path, readOnly));
  }

  /** Replaces the text of the same file (a reload from the sandbox), keeping the cursor where it can. */
  replace(doc: string): void {
    const head = Math.min(this.view.state.selection.main.head, doc.length);
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: doc }, selection: { anchor: head } });
  }

  setReadOnly(readOnly: boolean): void {
    this.view.dispatch({ effects: this.readOnly.reconfigure([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]) });
  }

  get text(): string {
    return this.view.state.doc.toString();
  }

  focus(): void {
    this.view.focus();
  }

  get hasFocus(): boolean {
    return this.view.hasFocus;
  }

  destroy(): void {
    this.view.destroy();
  }
}
