// The parts of the second terminal that need no engine: which terminal a query names, where each terminal's
// recording is, one timeline from both, how the offline export lists a command of the second terminal, and idle
// stretches counted from both terminals' input.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_TERMINALS, parseTerminalId, TERMINAL_IDS } from '../../contract/terminal.js';
import type { Command, CommandTimeline } from '../../contract/review.js';
import { renderExportHtml } from '../../server/src/review/export-html.js';
import { mergeTimelines } from '../../server/src/review/merge-timelines.js';
import { existingRecordings, terminalRecordingFile } from '../../server/src/terminal/terminal-files.js';
import { inputTimesOfFiles, signalReport } from '../../server/src/workspace-files/signals.js';
import { fixtureExportData } from '../fixtures/review/export-data.js';
import { FakeDriver } from '../helpers/fake-driver.js';
import { TerminalRegistry, type TerminalRegistryDeps } from '../../server/src/attempts/terminals.js';
import type { Attempt } from '../../server/src/store/attempts-repo.js';

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

describe('idle stretches', () => {
  it('count input in either terminal: typing only in terminal 2 is not idle', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-idle-'));
    try {
      const start = Date.UTC(2026, 0, 5, 9, 0, 0);
      const min = 60_000;
      const cast = (inputsAt: number[]) =>
        [JSON.stringify({ version: 2, width: 80, height: 24, timestamp: start / 1000 }), ...inputsAt.map((t) => JSON.stringify([t / 1000, 'i', 'l']))].join('\n') + '\n';
      const main = path.join(dir, 'a_1.cast');
      fs.writeFileSync(main, cast([0.5 * min]));
      const span = { startedAt: start, endedAt: start + 12 * min, now: start + 20 * min };
      // Terminal 1 alone: no input after the first half minute.
      const alone = await inputTimesOfFiles(existingRecordings(main).map((r) => r.file));
      expect(signalReport([], alone, span).idle.map((s) => s.ms)).toEqual([11.5 * min]);
      // Terminal 2 typed at 4, 8 and 11 minutes: no stretch of 5 minutes without input in either.
      fs.writeFileSync(terminalRecordingFile(main, 2), cast([4 * min, 8 * min, 11 * min]));
      const both = await inputTimesOfFiles(existingRecordings(main).map((r) => r.file));
      expect(both).toHaveLength(4);
      expect(signalReport([], both, span).idle).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a second terminal during a start', () => {
  it('starts its shell only once the attempt’s start has settled (its initial snapshot stored)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-t2-'));
    try {
      const driver = new FakeDriver();
      const sandboxId = await driver.create({ attemptId: 'a_t2', exerciseId: 'x', image: 'img', limits: { memoryMb: 64, cpus: 1, pids: 64 } });
      await driver.start(sandboxId);
      let settle!: () => void;
      const settled = new Promise<void>((resolve) => (settle = resolve));
      const registry = new TerminalRegistry({
        config: { recordingMaxBytes: 1024 * 1024 },
        driver,
        log: { warn: () => undefined, info: () => undefined, error: () => undefined } as unknown as TerminalRegistryDeps['log'],
        recordingFile: () => path.join(dir, 'a_t2.cast'),
        onShellExit: () => undefined,
        settled: () => settled,
      });
      const now = Date.now();
      const attempt = { id: 'a_t2', sandboxId, startedAt: now, createdAt: now } as Attempt;
      const opening = registry.terminalN(attempt, 2);
      await new Promise((r) => setTimeout(r, 50));
      expect(driver.execTerminals).toEqual([]);
      settle();
      const terminal = await opening;
      expect(driver.execTerminals).toEqual([{ id: sandboxId, name: '2' }]);
      expect(terminal.hasShell).toBe(true);
      const done = { code: 4000, text: 'test over' };
      terminal.close(done);
      registry.get('a_t2')?.close(done);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
