// Syntax highlighting by file name for the workspace's editor (CodeMirror 6): YAML, Python and Markdown from their
// language packages; shell, Dockerfile and JSON from the legacy modes; HCL (Terraform) from a small mode here.

import { StreamLanguage, type StreamParser } from '@codemirror/language';
import type { Extension } from '@codemirror/state';
import { yaml } from '@codemirror/lang-yaml';
import { python } from '@codemirror/lang-python';
import { markdown } from '@codemirror/lang-markdown';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { dockerFile } from '@codemirror/legacy-modes/mode/dockerfile';
import { json } from '@codemirror/legacy-modes/mode/javascript';
import type { EditorLanguage } from '../../../contract/files.js';

interface HclState {
  /** Inside a block comment. */
  comment: boolean;
  /** Inside a string (and how many `${` are open in it). */
  string: boolean;
  interpolation: number;
  heredoc: string | null;
}

/** HCL as Terraform writes it: comments, strings with interpolation, heredocs, numbers, literals, block words. */
const hcl: StreamParser<HclState> = {
  name: 'hcl',
  startState: () => ({ comment: false, string: false, interpolation: 0, heredoc: null }),
  token(stream, state) {
    if (state.heredoc !== null) {
      if (stream.sol() && stream.match(new RegExp(`^\\s*${state.heredoc}\\s*$`))) {
        state.heredoc = null;
        return 'string';
      }
      stream.skipToEnd();
      return 'string';
    }
    if (state.comment) {
      if (stream.skipTo('*/')) {
        stream.next();
        stream.next();
        state.comment = false;
      } else stream.skipToEnd();
      return 'comment';
    }
    if (state.string) {
      if (stream.match('${')) {
        state.interpolation++;
        state.string = false;
        return 'meta';
      }
      while (!stream.eol()) {
        const ch = stream.next();
        if (ch === '\\') stream.next();
        else if (ch === '"') {
          state.string = false;
          return 'string';
        } else if (ch === '$' && stream.peek() === '{') {
          stream.backUp(1);
          return 'string';
        }
      }
      return 'string';
    }
    if (stream.eatSpace()) return null;
    if (stream.match('#') || stream.match('//')) {
      stream.skipToEnd();
      return 'comment';
    }
    if (stream.match('/*')) {
      state.comment = true;
      return 'comment';
    }
    const heredoc = stream.match(/^<<-?([A-Za-z_]+)/) as RegExpMatchArray | null;
    if (heredoc) {
      state.heredoc = heredoc[1]!;
      return 'string';
    }
    if (state.interpolation > 0 && stream.peek() === '}') {
      stream.next();
      state.interpolation--;
      state.string = true;
      return 'meta';
    }
    if (stream.eat('"')) {
      state.string = true;
      return 'string';
    }
    if (stream.match(/^-?\d+(\.\d+)?([eE][-+]?\d+)?/)) return 'number';
    if (stream.match(/^(true|false|null)\b/)) return 'atom';
    if (stream.match(/^(resource|data|variable|output|module|provider|terraform|locals|for_each|count|dynamic|for|in|if)\b/)) {
      return 'keyword';
    }
    if (stream.match(/^[A-Za-z_][\w-]*(?=\s*=)/)) return 'propertyName';
    if (stream.match(/^[A-Za-z_][\w-]*/)) return 'variableName';
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: '#', block: { open: '/*', close: '*/' } } },
};

export function languageExtension(language: EditorLanguage): Extension {
  switch (language) {
    case 'yaml':
      return yaml();
    case 'python':
      return python();
    case 'markdown':
      return markdown();
    case 'shell':
      return StreamLanguage.define(shell);
    case 'dockerfile':
      return StreamLanguage.define(dockerFile);
    case 'json':
      return StreamLanguage.define(json);
    case 'hcl':
      return StreamLanguage.define(hcl);
    case 'plain':
      return [];
  }
}
