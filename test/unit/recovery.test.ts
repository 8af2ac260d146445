import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { overlapLength, recoverIntoRecording } from '../../server/src/terminal/recovery.js';
import type { ShellLogEntry } from '../../server/src/terminal/terminal-session.js';

const START = 1_700_000_000_000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A recording whose last output is `last`, at 1 s. */
function recording(last: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-recovery-'));
  dirs.push(dir);
  const file = path.join(dir, 'terminal.cast');
  fs.writeFileSync(file, `${JSON.stringify({ version: 2, width: 80, height: 24 })}\n${JSON.stringify([1, 'o', last])}\n`);
  return file;
}

/** The output the recovery added, in order. */
function added(file: string): string {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(2)
    .map((l) => JSON.parse(l) as [number, string, string])
    .filter((e) => e[1] === 'o')
    .map((e) => e[2])
    .join('');
}

const ticks = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `tick ${from + i}\r\n`).join('');
const log = (...lines: string[]): ShellLogEntry[] => lines.map((l, i) => ({ at: START + 2000 + i * 10, data: Buffer.from(l) }));

describe('overlapLength', () => {
  it('finds the longest start of the next text that the first ends with', () => {
    expect(overlapLength('abcdef', 'defgh')).toBe(3);
    expect(overlapLength('abcdef', 'xyz')).toBe(0);
    expect(overlapLength('aaaa', 'aaab')).toBe(3);
    expect(overlapLength('abab', 'ababab')).toBe(4);
    expect(overlapLength('', 'abc')).toBe(0);
    expect(overlapLength('abc', '')).toBe(0);
    // The whole next text inside the end of the first.
    expect(overlapLength('xxabc', 'abc')).toBe(3);
  });

  it('compares a bounded stretch of each', () => {
    const big = 'x'.repeat(200_000);
    expect(overlapLength(big, big, 1000)).toBe(1000);
  });
});

describe('recoverIntoRecording with an attach made before the log was read', () => {
  const base = ticks(1, 20);

  it('adds the log up to where the attach output begins: nothing lost, nothing doubled', () => {
    // The recording stopped at tick 20; the log (read after the attach) runs to tick 35; the attach began at tick 31.
    const file = recording(base);
    const r = recoverIntoRecording(file, START, log(base, ticks(21, 30), ticks(31, 35)), {
      maxBytes: 1 << 20,
      attached: ticks(31, 38),
    });
    expect(added(file)).toBe(ticks(21, 30));
    expect(r).toMatchObject({ joinedBy: 'overlap', chars: ticks(21, 30).length, attachedChars: ticks(31, 35).length });
  });

  it('cuts inside a log entry', () => {
    const file = recording(base);
    recoverIntoRecording(file, START, log(base, ticks(21, 25) + 'tick 2'), { maxBytes: 1 << 20, attached: 'tick 26\r\ntick 27\r\n' });
    expect(added(file)).toBe(ticks(21, 25));
  });

  it('adds nothing when the attach received all the log had past the recording', () => {
    const file = recording(base);
    const r = recoverIntoRecording(file, START, log(base, ticks(21, 23)), { maxBytes: 1 << 20, attached: ticks(21, 29) });
    expect(r.chars).toBe(0);
    expect(added(file)).toBe('');
  });

  it('adds the whole gap when the attach has printed nothing yet', () => {
    const file = recording(base);
    recoverIntoRecording(file, START, log(base, ticks(21, 30)), { maxBytes: 1 << 20, attached: '' });
    expect(added(file)).toBe(ticks(21, 30));
  });

  it('without an attach, adds the log to its end, as before', () => {
    const file = recording(base);
    const r = recoverIntoRecording(file, START, log(base, ticks(21, 30)), { maxBytes: 1 << 20 });
    expect(added(file)).toBe(ticks(21, 30));
    expect(r.attachedChars).toBe(0);
  });
});
