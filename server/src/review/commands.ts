// The command timeline of an attempt, read from its asciicast v2 recording.
//
// The sandbox shells mark their prompts and commands (sandboxes/base/bashrc) with the shell-integration
// sequences VS Code, iTerm2 and WezTerm use:
//   OSC 133;A;aid=<pid>        prompt start            OSC 133;B   prompt end, the command line follows
//   OSC 133;C;aid=<pid>        the command line runs   OSC 133;D;<status>;aid=<pid>   it finished
//   OSC 633;E;<command line>   its text (`\\` is a backslash, `\xHH` a character), after C (or before it, as
//                              VS Code's own scripts send it)
// `aid` tells the marks of a nested shell from its parent's. 633;A..D are read like 133;A..D. A shell sends D for
// a line of several pasted lines when the next one starts, and the E of the second and later ones when the prompt
// comes back: an E belongs to the oldest command of the last C's shell, since its prompt, that has no text yet.
// A prompt (A) of a shell closes its commands that are still open (the D was lost, or the shell was replaced by
// `exec`); a D that follows for such a command still gives it its status.
//
// Where the shell does not mark its commands (`exec bash --norc`, `sh`, marks removed, or no marks at all) the
// timeline falls back to the keystrokes: lines typed up to Enter, with backspace, Ctrl-U, Ctrl-W and Ctrl-C
// applied and cursor keys dropped. Keystrokes count as commands only where no marked shell reads them: before
// the first mark, or while a command that starts a shell (sh, bash, su, exec ...) runs. A typed line that a marked
// shell then runs (a C follows before the next Enter) is left to the marks.
//
// Everything is linear in the size of the recording; command texts are capped at COMMAND_MAX_CHARS.
import { MARKERS } from '../terminal/recorder.js';
import type { Command, CommandTimeline } from '../../../contract/review.js';
import { COMMAND_MAX_CHARS, decodeCommandLine, exitCodeOf, LineEditor, optionOf, startsShell } from './command-line.js';

/** An OSC sequence longer than this is not a mark (and is not kept waiting for its end across events). */
const OSC_MAX_CHARS = 64 * 1024;
/** Open commands kept at once (nested shells); older ones are closed without a status past this. */
const OPEN_MAX = 64;

/** Markers after which the shell is a new one: whatever was running is gone. */
const SHELL_RESETS = new Set<string>([MARKERS.shellExited, MARKERS.shellRestarted, MARKERS.reset]);

interface Entry extends Command {
  aid: string;
  /** The text from the shell's E mark. */
  text: string | null;
  /** What was typed at the prompt before it ran, for when no E comes. */
  typed: string;
  /** A typed line that a marked shell ran after all. */
  dropped: boolean;
}

/** Commands a shell started since its last prompt, with the oldest one still without text. */
interface Batch {
  entries: Entry[];
  next: number;
}

type Context = 'unknown' | 'prompt' | 'running';

export function parseCommands(cast: string): CommandTimeline {
  const parser = new TimelineParser();
  let start = cast.indexOf('\n');
  if (start < 0) return parser.finish(); // a header only, or nothing
  start += 1;
  while (start < cast.length) {
    let end = cast.indexOf('\n', start);
    if (end < 0) end = cast.length;
    if (end > start) parser.line(cast.slice(start, end));
    start = end + 1;
  }
  return parser.finish();
}

class TimelineParser {
  private readonly entries: Entry[] = [];
  private readonly open: Entry[] = [];
  private readonly batches = new Map<string, Batch>();
  /** Commands closed by a prompt, by shell, waiting for a late D. */
  private readonly awaiting = new Map<string, Entry>();
  private context: Context = 'unknown';
  private lastCAid: string | null = null;
  /** An E with no command to go to yet: the next C takes it (VS Code sends E before C). */
  private pendingE: { text: string; t: number } | null = null;
  private scan: 'text' | 'esc' | 'osc' | 'osc-esc' = 'text';
  private oscParts: string[] = [];
  private oscLength = 0;
  private readonly keys = new LineEditor();
  /** Lines typed at a marked prompt since its last command started. */
  private typedAtPrompt: string[] = [];
  /** A line typed where no marked shell was known to read it; dropped if a C follows before the next Enter. */
  private provisional: Entry | null = null;

  line(raw: string): void {
    let ev: unknown;
    try {
      ev = JSON.parse(raw);
    } catch {
      return; // a half-written last line after a crash, or garbage
    }
    if (!Array.isArray(ev) || ev.length < 3) return;
    const [t, code, data] = ev as unknown[];
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || typeof data !== 'string') return;
    if (code === 'o') this.output(t, data);
    else if (code === 'i') this.input(t, data);
    else if (code === 'm' && SHELL_RESETS.has(data)) this.shellReset();
  }

  finish(): CommandTimeline {
    this.commitProvisional();
    this.flushPendingE();
    const commands: Command[] = [];
    for (const e of this.entries) {
      if (e.dropped) continue;
      const text = cap(e.source === 'shell' ? (e.text ?? e.typed) : e.command);
      if (text.trim() === '') continue;
      commands.push({
        command: text,
        startedAt: e.startedAt,
        durationMs: e.durationMs,
        exitCode: e.exitCode,
        source: e.source,
      });
    }
    commands.sort((a, b) => a.startedAt - b.startedAt); // stable: already in order but for odd clocks
    const shell = commands.some((c) => c.source === 'shell');
    const input = commands.some((c) => c.source === 'input');
    return { commands, source: shell && input ? 'mixed' : shell ? 'shell' : input ? 'input' : 'none' };
  }

  // --- output: the marks -------------------------------------------------------------------------------------

  /** Scans output for OSC sequences; one may be split across events (a state machine, linear in the data). */
  private output(t: number, data: string): void {
    let i = 0;
    let bel = -2; // the next BEL at or after i, -1 for none: found once per chunk, not once per sequence
    while (i < data.length || this.scan === 'esc' || this.scan === 'osc-esc') {
      if (this.scan === 'text') {
        const esc = data.indexOf('\x1b', i);
        if (esc < 0) return;
        this.scan = 'esc';
        i = esc + 1;
      } else if (this.scan === 'esc') {
        if (i >= data.length) return;
        if (data.charCodeAt(i) === 0x5d /* ] */) {
          this.scan = 'osc';
          this.oscParts = [];
          this.oscLength = 0;
          i++;
        } else this.scan = 'text'; // another sequence: the character is looked at again as text
      } else if (this.scan === 'osc-esc') {
        if (i >= data.length) return;
        if (data.charCodeAt(i) === 0x5c /* \ */) {
          this.endOsc(t);
          i++;
        } else this.scan = 'esc'; // the OSC was cut short by another escape sequence, which starts here
      } else {
        if (bel !== -1 && bel < i) bel = data.indexOf('\x07', i);
        const esc = data.indexOf('\x1b', i);
        const end = bel >= 0 && (esc < 0 || bel < esc) ? bel : esc;
        this.oscAppend(data.slice(i, end < 0 ? data.length : end));
        if (end < 0) return;
        if (end === bel) this.endOsc(t);
        else this.scan = 'osc-esc';
        i = end + 1;
      }
    }
  }

  private oscAppend(part: string): void {
    if (part.length === 0) return;
    this.oscLength += part.length;
    if (this.oscLength <= OSC_MAX_CHARS) this.oscParts.push(part);
    else this.oscParts = [];
  }

  private endOsc(t: number): void {
    this.scan = 'text';
    if (this.oscLength <= OSC_MAX_CHARS) this.osc(t, this.oscParts.join(''));
    this.oscParts = [];
    this.oscLength = 0;
  }

  private osc(t: number, payload: string): void {
    const isFinalTerm = payload.startsWith('133;');
    if (!isFinalTerm && !payload.startsWith('633;')) return;
    const params = payload.slice(4).split(';');
    const kind = params[0];
    if (kind === 'E' && !isFinalTerm) return this.markE(t, decodeCommandLine(params[1] ?? ''));
    const aid = optionOf(params, 'aid') ?? '';
    if (kind === 'A') this.markPrompt(t, aid, true);
    else if (kind === 'B') this.markPrompt(t, aid, false);
    else if (kind === 'C') this.markC(t, aid);
    else if (kind === 'D') this.markD(t, aid, exitCodeOf(params[1]));
  }

  private markPrompt(t: number, aid: string, start: boolean): void {
    this.context = 'prompt';
    if (!start) return;
    // The shell prompts: what it ran has ended. Its next command lines form a new batch.
    this.flushPendingE();
    this.typedAtPrompt = [];
    for (let k = this.open.length - 1; k >= 0; k--) {
      const e = this.open[k]!;
      if (e.aid !== aid) continue;
      // Nested commands above it ended with it.
      for (const inner of this.open.splice(k)) this.close(inner, inner === e ? t : null, null);
      this.awaiting.set(aid, e);
      break;
    }
    this.batches.delete(aid);
  }

  private markC(t: number, aid: string): void {
    // The line typed last was run by this shell: it is this command, not one of the keystrokes'.
    if (this.provisional) this.provisional.dropped = true;
    this.provisional = null;
    this.awaiting.delete(aid);
    // A shell runs one command line at a time: one of its own still open lost its D.
    for (let k = this.open.length - 1; k >= 0; k--) {
      if (this.open[k]!.aid !== aid) continue;
      for (const inner of this.open.splice(k)) this.close(inner, null, null);
      break;
    }
    const entry: Entry = {
      command: '',
      startedAt: t,
      durationMs: null,
      exitCode: null,
      source: 'shell',
      aid,
      text: null,
      typed: this.typedAtPrompt.join('\n'),
      dropped: false,
    };
    this.typedAtPrompt = [];
    this.entries.push(entry);
    this.open.push(entry);
    if (this.open.length > OPEN_MAX) this.close(this.open.shift()!, null, null);
    let batch = this.batches.get(aid);
    if (!batch) {
      batch = { entries: [], next: 0 };
      this.batches.set(aid, batch);
    }
    batch.entries.push(entry);
    this.lastCAid = aid;
    this.context = 'running';
    if (this.pendingE) {
      entry.text = this.pendingE.text;
      this.pendingE = null;
      this.closeIfExit(entry);
    }
  }

  /**
   * `exit` ends its shell, which sends no D for it: the command is over, and keystrokes go to whatever runs
   * the shell that exited (an unmarked shell, for one). Should the shell stay (`logout` in a shell that is not
   * a login shell), its D still gives the status.
   */
  private closeIfExit(e: Entry): void {
    if (!/^\s*(exit|logout)(\s|;|$)/.test(e.text ?? '')) return;
    const k = this.open.lastIndexOf(e);
    if (k < 0) return;
    for (const inner of this.open.splice(k)) this.close(inner, null, null);
    this.awaiting.set(e.aid, e);
    this.context = this.open.length > 0 ? 'running' : 'unknown';
  }

  private markD(t: number, aid: string, exitCode: number | null): void {
    this.context = 'prompt';
    for (let k = this.open.length - 1; k >= 0; k--) {
      const e = this.open[k]!;
      if (aid !== '' && e.aid !== aid) continue;
      for (const inner of this.open.splice(k)) this.close(inner, inner === e ? t : null, inner === e ? exitCode : null);
      return;
    }
    // No open command: the status of one a prompt already closed (its D comes only when the next one starts).
    const late = this.awaiting.get(aid);
    if (late) {
      late.exitCode = exitCode;
      this.awaiting.delete(aid);
    }
  }

  private markE(t: number, text: string): void {
    const batch = this.lastCAid === null ? undefined : this.batches.get(this.lastCAid);
    if (batch) {
      while (batch.next < batch.entries.length && batch.entries[batch.next]!.text !== null) batch.next++;
      const target = batch.entries[batch.next];
      if (target) {
        target.text = text;
        batch.next++;
        this.closeIfExit(target);
        return;
      }
    }
    this.flushPendingE();
    this.pendingE = { text, t };
  }

  /** An E no C took: the shell ran the line but its other marks did not reach the terminal. */
  private flushPendingE(): void {
    const p = this.pendingE;
    if (!p) return;
    this.pendingE = null;
    this.entries.push({
      command: '',
      startedAt: p.t,
      durationMs: null,
      exitCode: null,
      source: 'shell',
      aid: '',
      text: p.text,
      typed: '',
      dropped: false,
    });
  }

  private close(e: Entry, t: number | null, exitCode: number | null): void {
    e.exitCode = exitCode;
    e.durationMs = t === null ? null : Math.max(0, Math.round((t - e.startedAt) * 1000));
  }

  private shellReset(): void {
    this.commitProvisional();
    this.flushPendingE();
    for (const e of this.open.splice(0)) this.close(e, null, null);
    this.batches.clear();
    this.awaiting.clear();
    this.lastCAid = null;
    this.scan = 'text';
    this.oscParts = [];
    this.oscLength = 0;
    this.typedAtPrompt = [];
    this.keys.reset();
    this.context = 'unknown';
  }

  // --- input: the keystrokes ---------------------------------------------------------------------------------

  private input(t: number, data: string): void {
    this.keys.feed(data, (line) => this.typedLine(t, line));
  }

  private typedLine(t: number, line: string): void {
    if (line.trim() === '') return;
    // A line the marked shell did not answer with a C was not run by it: keep it.
    this.commitProvisional();
    if (this.context === 'prompt') {
      if (this.typedAtPrompt.length < 64) this.typedAtPrompt.push(line);
      return;
    }
    if (this.context === 'running') {
      const top = this.open[this.open.length - 1];
      if (!top || !startsShell(top.text ?? top.typed)) return; // keystrokes for a program, not commands
    }
    const entry: Entry = {
      command: line,
      startedAt: t,
      durationMs: null,
      exitCode: null,
      source: 'input',
      aid: '',
      text: null,
      typed: '',
      dropped: false,
    };
    this.entries.push(entry);
    this.provisional = entry;
  }

  private commitProvisional(): void {
    this.provisional = null;
  }
}

function cap(text: string): string {
  return text.length <= COMMAND_MAX_CHARS ? text : `${text.slice(0, COMMAND_MAX_CHARS - 1)}…`;
}
