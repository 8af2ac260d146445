// Command lines as the timeline reads them: typed lines rebuilt from keystrokes, the escaped text of an
// OSC 633;E mark, the marks' options, and whether a command line starts a shell (whose keystrokes then belong to
// it rather than to the marked shell around it).

/** A command's text is cut at this many characters. */
export const COMMAND_MAX_CHARS = 2000;
/** A line being typed is not kept beyond this (a hostile paste without Enter). */
const LINE_MAX_CHARS = 8 * 1024;

/**
 * Rebuilds typed lines from keystrokes: printable text is appended, Backspace and Ctrl-H delete a character,
 * Ctrl-W a word, Ctrl-U the line, Ctrl-C aborts it, Enter ends it. Escape sequences (cursor keys, function
 * keys, bracketed-paste brackets) are dropped, also when split across events; other control characters too.
 */
export class LineEditor {
  private chars: string[] = [];
  private esc: 'none' | 'esc' | 'csi' | 'ss3' | 'string' | 'string-esc' = 'none';

  reset(): void {
    this.chars = [];
    this.esc = 'none';
  }

  feed(data: string, onLine: (line: string) => void): void {
    for (const ch of data) {
      const c = ch.codePointAt(0)!;
      if (this.esc !== 'none') {
        this.escape(ch, c);
        continue;
      }
      if (c === 0x1b) this.esc = 'esc';
      else if (c === 0x0d || c === 0x0a) {
        const line = this.chars.join('');
        this.chars = [];
        onLine(line);
      } else if (c === 0x7f || c === 0x08) this.chars.pop();
      else if (c === 0x15 || c === 0x03) this.chars = []; // Ctrl-U erases the line, Ctrl-C abandons it
      else if (c === 0x17) this.deleteWord();
      else if (c < 0x20 || (c >= 0x80 && c < 0xa0)) continue;
      else if (this.chars.length < LINE_MAX_CHARS) this.chars.push(ch);
    }
  }

  private escape(ch: string, c: number): void {
    switch (this.esc) {
      case 'esc':
        if (ch === '[') this.esc = 'csi';
        else if (ch === 'O') this.esc = 'ss3';
        else if (ch === ']' || ch === 'P' || ch === '_' || ch === '^') this.esc = 'string';
        else this.esc = 'none'; // Alt-<key>
        return;
      case 'csi':
        if (c >= 0x40 && c <= 0x7e) this.esc = 'none';
        else if (c < 0x20 || c > 0x7e) this.esc = 'none'; // not a CSI after all
        return;
      case 'ss3':
        this.esc = 'none';
        return;
      case 'string':
        if (c === 0x07) this.esc = 'none';
        else if (c === 0x1b) this.esc = 'string-esc';
        return;
      case 'string-esc':
        this.esc = ch === '\\' ? 'none' : 'string';
        return;
      default:
        this.esc = 'none';
    }
  }

  private deleteWord(): void {
    while (this.chars.length > 0 && /\s/.test(this.chars[this.chars.length - 1]!)) this.chars.pop();
    while (this.chars.length > 0 && !/\s/.test(this.chars[this.chars.length - 1]!)) this.chars.pop();
  }
}

/** VS Code's escaping of OSC 633;E: `\\` is a backslash, `\xHH` the character HH; anything else is literal. */
export function decodeCommandLine(escaped: string): string {
  let out = '';
  let i = 0;
  while (i < escaped.length) {
    const j = escaped.indexOf('\\', i);
    if (j < 0) {
      out += escaped.slice(i);
      break;
    }
    out += escaped.slice(i, j);
    if (escaped[j + 1] === '\\') {
      out += '\\';
      i = j + 2;
    } else if (escaped[j + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(escaped.slice(j + 2, j + 4))) {
      out += String.fromCharCode(parseInt(escaped.slice(j + 2, j + 4), 16));
      i = j + 4;
    } else {
      out += '\\';
      i = j + 1;
    }
    if (out.length > COMMAND_MAX_CHARS * 2) break;
  }
  return out;
}

export function optionOf(params: string[], key: string): string | undefined {
  const prefix = `${key}=`;
  for (let k = 1; k < params.length; k++) {
    if (params[k]!.startsWith(prefix)) return params[k]!.slice(prefix.length, prefix.length + 64);
  }
  return undefined;
}

export function exitCodeOf(param: string | undefined): number | null {
  if (param === undefined || !/^-?\d{1,10}$/.test(param)) return null;
  const n = Number(param);
  return Number.isSafeInteger(n) ? n : null;
}

/** Shells: interactive unless given a script or -c. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'fish', 'rbash']);
/** Options of a shell that take a value. */
const SHELL_VALUE_OPTIONS = new Set(['--rcfile', '--init-file', '-o', '+o', '-O', '+O']);
/** Programs that log in or switch users: interactive unless given a command. */
const LOGINS = new Set(['su', 'login', 'runuser', 'newgrp', 'sg']);
/** Programs that run the command after their options, or a shell when there is none. */
const WRAPPERS = new Set(['sudo', 'chroot', 'setsid', 'nsenter', 'unshare', 'busybox', 'script', 'tmux', 'screen']);

/**
 * Does this command line start an interactive shell (or something else that reads command lines), whose
 * keystrokes are then commands too? `bash`, `exec bash --norc`, `su - ci`, `sudo -i`: yes; `bash run.sh`,
 * `sh -c 'make'`, `vim`: no.
 */
export function startsShell(line: string): boolean {
  const words = line.trim().split(/\s+/, 32);
  let k = 0;
  while (k < words.length && (/^(exec|command|env|nohup|time|nice)$/.test(words[k]!) || /^\w+=/.test(words[k]!))) k++;
  for (let depth = 0; depth < 4 && k < words.length; depth++) {
    const word = words[k]!;
    const program = word.slice(word.lastIndexOf('/') + 1);
    const args = words.slice(k + 1);
    if (SHELLS.has(program)) {
      for (let a = 0; a < args.length; a++) {
        const arg = args[a]!;
        if (SHELL_VALUE_OPTIONS.has(arg)) a++;
        else if (/^-[a-zA-Z]*c/.test(arg) || arg === '--command') return false;
        else if (!/^[-+]/.test(arg)) return false; // a script
      }
      return true;
    }
    if (LOGINS.has(program)) return !args.some((a) => /^-[a-zA-Z]*c$/.test(a) || a === '--command' || a.startsWith('--command='));
    if (!WRAPPERS.has(program)) return false;
    if (program === 'script') return !args.some((a) => /^-[a-zA-Z]*c$/.test(a) || a === '--command');
    // The wrapped command follows the options (chroot: after the new root).
    let next = k + 1;
    while (next < words.length && words[next]!.startsWith('-')) {
      if (program === 'sudo' && /^-[ugCDhprtTU]$/.test(words[next]!)) next++; // sudo -u ci bash
      next++;
    }
    if (program === 'chroot') next++;
    if (next >= words.length) return true; // no command: the wrapper starts a shell (sudo -i, chroot /srv)
    k = next;
  }
  return false;
}
