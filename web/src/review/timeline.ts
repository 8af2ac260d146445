// The commands the candidate ran, in order, next to the replay: start time on the recording's clock, duration
// and exit status. Each row is a button: a click (or Enter) moves the replay to that command. Files saved from the
// workspace's editor are rows too, in time order, with their diff folded under them.

import { h, type Scope } from '../dom.js';
import type { Command, CommandTimeline } from './api.js';
import { formatOffset } from './cast.js';
import type { SignalFact } from '../../../contract/signals.js';

/** A save from the workspace's editor (a `file.saved` event), placed on the recording's clock. */
export interface FileSaveRow {
  at: number;
  path: string;
  bytes: number;
  diff: string;
  diffCut: boolean;
}

/** A fact of the attempt on the recording's clock (a paste, the tab hidden, an idle stretch, an upload): plain text. */
export type FactRow = SignalFact;

export interface TimelineOptions {
  scope: Scope;
  /** `terminal`: the terminal whose replay shows the command (absent: terminal 1). */
  onSeek: (recordingSeconds: number, terminal?: number) => void;
  saves?: FileSaveRow[];
  facts?: FactRow[];
}

const SOURCE_NOTES: Record<CommandTimeline['source'], string | null> = {
  shell: null,
  input: 'Reconstructed from the keystrokes: the shell did not mark its commands, so durations and exit statuses are unknown.',
  mixed: 'Some commands are reconstructed from the keystrokes where the shell did not mark them.',
  none: null,
};

export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds % 60)} s`;
}

export class CommandTimelineView {
  readonly element: HTMLElement;
  private readonly rows: { command: Command; row: HTMLElement }[] = [];
  private current: HTMLElement | null = null;
  private readonly filter = h('input', {
    type: 'search',
    class: 'timeline-filter',
    placeholder: 'Filter commands',
    'aria-label': 'Filter commands',
    'data-testid': 'timeline-filter',
  });
  private readonly list = h('ol', { class: 'timeline-list', 'aria-label': 'Commands', 'data-testid': 'timeline-list' });
  private readonly count = h('span', { class: 'muted timeline-count', 'data-testid': 'timeline-count' });

  constructor(
    timeline: CommandTimeline,
    private readonly options: TimelineOptions,
  ) {
    const note = SOURCE_NOTES[timeline.source];
    this.element = h(
      'div',
      { class: 'timeline', 'data-testid': 'timeline', 'data-source': timeline.source },
      h('div', { class: 'timeline-head' }, this.count, this.filter),
      note ? h('p', { class: 'timeline-note muted', 'data-testid': 'timeline-note' }, note) : null,
      this.list,
    );
    const saves = options.saves ?? [];
    if (timeline.commands.length === 0 && saves.length === 0 && (options.facts ?? []).length === 0) {
      this.filter.hidden = true;
      this.list.replaceWith(h('p', { class: 'muted timeline-empty', 'data-testid': 'timeline-empty' }, 'No commands were recorded.'));
    }
    for (const command of timeline.commands) this.addRow(command);
    for (const save of saves) this.addSave(save);
    for (const fact of options.facts ?? []) this.addFact(fact);
    this.count.textContent = `${timeline.commands.length} command${timeline.commands.length === 1 ? '' : 's'}`;
    if (saves.length > 0) this.count.textContent += `, ${saves.length} file save${saves.length === 1 ? '' : 's'}`;
    options.scope.listen(this.filter, 'input', () => this.applyFilter());
  }

  /** Marks the last command that started at or before `recordingSeconds` as the one the replay shows. */
  setTime(recordingSeconds: number): void {
    let found: HTMLElement | null = null;
    for (const { command, row } of this.rows) {
      if (command.startedAt > recordingSeconds + 0.05) break;
      found = row;
    }
    if (found === this.current) return;
    this.current?.removeAttribute('aria-current');
    found?.setAttribute('aria-current', 'true');
    this.current = found;
  }

  private addRow(command: Command): void {
    const status =
      command.exitCode === null
        ? h('span', { class: 'timeline-exit', 'data-exit': 'unknown', title: 'Exit status unknown' }, '—')
        : h(
            'span',
            { class: 'timeline-exit', 'data-exit': command.exitCode === 0 ? 'ok' : 'error' },
            command.exitCode === 0 ? '✓ 0' : `✕ ${command.exitCode}`,
          );
    const button = h(
      'button',
      { type: 'button', class: 'timeline-row', 'data-testid': 'timeline-command', 'data-seconds': String(command.startedAt) },
      h('span', { class: 'timeline-time' }, formatOffset(command.startedAt)),
      h('code', { class: 'timeline-command', title: command.command }, command.command),
      h('span', { class: 'timeline-meta' }, formatDuration(command.durationMs), ' ', status),
      command.source === 'input'
        ? h('span', { class: 'timeline-source', title: 'Reconstructed from the keystrokes' }, 'from keystrokes')
        : null,
      command.terminal ? h('span', { class: 'timeline-terminal', 'data-testid': 'timeline-terminal', title: `Ran in terminal ${command.terminal}` }, `T${command.terminal}`) : null,
    );
    if (command.terminal) button.dataset['terminal'] = String(command.terminal);
    const exit = command.exitCode === null ? 'exit status unknown' : `exit status ${command.exitCode}`;
    const where = command.terminal ? ` in terminal ${command.terminal}` : '';
    button.setAttribute('aria-label', `${formatOffset(command.startedAt)}: ${command.command}${where} (${exit}). Show in the replay.`);
    this.options.scope.listen(button, 'click', () => this.options.onSeek(command.startedAt, command.terminal));
    const row = h('li', { class: 'timeline-item' }, button);
    this.rows.push({ command, row });
    this.list.append(row);
  }

  /** A save's row, placed before the first command that started after it. */
  private addSave(save: FileSaveRow): void {
    const button = h(
      'button',
      { type: 'button', class: 'timeline-row timeline-save', 'data-testid': 'timeline-save', 'data-seconds': String(save.at) },
      h('span', { class: 'timeline-time' }, formatOffset(save.at)),
      h('code', { class: 'timeline-command', title: save.path }, `saved ${save.path}`),
      h('span', { class: 'timeline-meta' }, `${save.bytes} B`),
    );
    button.setAttribute('aria-label', `${formatOffset(save.at)}: saved ${save.path} in the editor. Show in the replay.`);
    this.options.scope.listen(button, 'click', () => this.options.onSeek(save.at));
    const diff = h(
      'details',
      { class: 'timeline-save-diff' },
      h('summary', {}, 'Diff'),
      h('pre', {}, save.diff + (save.diffCut ? '\n… (cut)' : '')),
    );
    const row = h('li', { class: 'timeline-item', 'data-path': save.path }, button, diff);
    const next = this.rows.find((r) => r.command.startedAt > save.at)?.row;
    this.list.insertBefore(row, next ?? null);
  }

  /** A fact's row, placed before the first command that started after it. */
  private addFact(fact: FactRow): void {
    const button = h(
      'button',
      { type: 'button', class: `timeline-row timeline-fact timeline-fact-${fact.kind}`, 'data-testid': 'timeline-fact', 'data-kind': fact.kind, 'data-seconds': String(fact.at) },
      h('span', { class: 'timeline-time' }, formatOffset(fact.at)),
      h('span', { class: 'timeline-command' }, fact.text),
    );
    button.setAttribute('aria-label', `${formatOffset(fact.at)}: ${fact.text}. Show in the replay.`);
    this.options.scope.listen(button, 'click', () => this.options.onSeek(fact.at));
    const row = h('li', { class: 'timeline-item', 'data-fact': fact.text }, button);
    const next = this.rows.find((r) => r.command.startedAt > fact.at)?.row;
    this.list.insertBefore(row, next ?? null);
  }

  private applyFilter(): void {
    const needle = this.filter.value.trim().toLowerCase();
    let shown = 0;
    for (const { command, row } of this.rows) {
      const match = needle === '' || command.command.toLowerCase().includes(needle);
      row.hidden = !match;
      if (match) shown++;
    }
    for (const row of this.list.querySelectorAll<HTMLElement>('li[data-fact]')) {
      row.hidden = needle !== '' && !(row.dataset['fact'] ?? '').toLowerCase().includes(needle);
    }
    for (const row of this.list.querySelectorAll<HTMLElement>('li[data-path]')) {
      row.hidden = needle !== '' && !`saved ${row.dataset['path'] ?? ''}`.toLowerCase().includes(needle);
    }
    const total = this.rows.length;
    this.count.textContent = needle === '' ? `${total} command${total === 1 ? '' : 's'}` : `${shown} of ${total} commands`;
  }
}
