// The parts of the second terminal that need no engine: which terminal a query names, where each terminal's
// recording is, one timeline from both, and how the offline export lists a command of the second terminal.
import { describe, expect, it } from 'vitest';
import { MAX_TERMINALS, parseTerminalId, TERMINAL_IDS } from '../../contract/terminal.js';
import type { Command, CommandTimeline } from '../../contract/review.js';
import { renderExportHtml } from '../../server/src/review/export-html.js';
import { mergeTimelines } from '../../server/src/review/merge-timelines.js';
import { terminalRecordingFile } from '../../server/src/terminal/terminal-files.js';
import { fixtureExportData } from '../fixtures/review/export-data.js';

const cmd = (command: string, startedAt: number, source: Command['source'] = 'shell'): Command => ({
  command,
  startedAt,
  durationMs: 10,
  exitCode: 0,
  source,
});

describe('terminal ids', () => {
  it('takes 1 and 2 only, 1 when absent', () => {
    expect(MAX_TERMINALS).toBe(2);
    expect(TERMINAL_IDS).toEqual([1, 2]);
    expect(parseTerminalId(undefined)).toBe(1);
    expect(parseTerminalId('1')).toBe(1);
    expect(parseTerminalId('2')).toBe(2);
    expect(parseTerminalId('3')).toEqual({ error: 'An attempt has at most 2 terminals.' });
    for (const bad of ['0', '02', '-1', '+2', '2.0', ' 2', 'two', '', '1e0', ['2'], 2, null, {}, '9'.repeat(30)]) {
      expect(typeof parseTerminalId(bad), JSON.stringify(bad)).toBe('object');
    }
  });

  it('puts a further terminal\'s recording beside the first', () => {
    expect(terminalRecordingFile('/d/recordings/a_1.cast', 1)).toBe('/d/recordings/a_1.cast');
    expect(terminalRecordingFile('/d/recordings/a_1.cast', 2)).toBe('/d/recordings/a_1.t2.cast');
    expect(terminalRecordingFile('/d/rec', 2)).toBe('/d/rec.t2.cast');
  });
});

describe('mergeTimelines', () => {
  const one: CommandTimeline = { commands: [cmd('ls', 1), cmd('tail -f log', 5), cmd('cat x', 9)], source: 'shell' };
  const two: CommandTimeline = { commands: [cmd('vi x', 6), cmd('make', 9)], source: 'shell' };

  it('orders both terminals\' commands by start, the second\'s tagged, terminal 1 first at a tie', () => {
    const merged = mergeTimelines([
      { terminal: 1, timeline: one },
      { terminal: 2, timeline: two },
    ]);
    expect(merged.commands.map((c) => [c.command, c.terminal])).toEqual([
      ['ls', undefined],
      ['tail -f log', undefined],
      ['vi x', 2],
      ['cat x', undefined],
      ['make', 2],
    ]);
    expect(merged.source).toBe('shell');
  });

  it('says mixed when the sources differ, ignores a terminal without commands, none when there are none', () => {
    const typed: CommandTimeline = { commands: [cmd('ls', 2, 'input')], source: 'input' };
    expect(mergeTimelines([{ terminal: 1, timeline: one }, { terminal: 2, timeline: typed }]).source).toBe('mixed');
    expect(mergeTimelines([{ terminal: 1, timeline: one }, { terminal: 2, timeline: { commands: [], source: 'none' } }]).source).toBe('shell');
    expect(mergeTimelines([])).toEqual({ commands: [], source: 'none' });
  });
});

describe('the offline export', () => {
  it('lists a command of terminal 2 without making it seek terminal 1\'s replay', () => {
    const data = fixtureExportData();
    data.commands = { commands: [cmd('echo one', 1), { ...cmd('echo <two>', 2), terminal: 2 }], source: 'shell' };
    const html = renderExportHtml(data);
    const items = [...html.matchAll(/<li class="cmd-item">([\s\S]*?)<\/li>/g)].map((m) => m[1]!);
    expect(items).toHaveLength(2);
    expect(items[0]).toContain('data-seek="1"');
    expect(items[1]).not.toContain('data-seek');
    expect(items[1]).toContain('data-terminal="2"');
    expect(items[1]).toContain('echo &lt;two&gt;');
    expect(items[1]).toContain('terminal 2, not in this replay');
  });
});
