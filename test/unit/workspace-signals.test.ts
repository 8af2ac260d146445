// Idle stretches from a recording's input times, the report's summary, the transfer policy and the review's wording.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExerciseCatalog, formatProblem } from '../../server/src/exercises/catalog.js';
import { tempDataDir } from '../helpers/server.js';
import { awayNowText, formatStretch, pasteText, SIGNAL_LIMITS, signalFacts, signalSummaryItems } from '../../contract/signals.js';
import { inputTimes, inputTimesOfFile, signalReport, SignalsService } from '../../server/src/workspace-files/signals.js';
import { transferPolicy } from '../../server/src/workspace-files/transfer.js';
import type { Attempt } from '../../server/src/store/attempts-repo.js';

const T0 = 1_700_000_000; // the recording's start, in seconds
const cast = (events: [number, string, string][]) =>
  [JSON.stringify({ version: 2, width: 80, height: 24, timestamp: T0 }), ...events.map((e) => JSON.stringify(e))].join('\n') + '\n';
const min = 60_000;

describe('idle stretches', () => {
  it('reads only the input events of a recording, on the epoch clock', () => {
    const times = inputTimes(cast([[0.5, 'o', 'prompt'], [1.25, 'i', 'l'], [2, 'm', 'marker'], [3.5, 'i', '"i" in text']]));
    expect(times).toEqual([T0 * 1000 + 1250, T0 * 1000 + 3500]);
    expect(inputTimes(null)).toEqual([]);
    expect(inputTimes('not a cast')).toEqual([]);
  });

  it('finds stretches of at least the threshold between inputs, the start and the end; saves count as input', () => {
    const start = T0 * 1000;
    const text = cast([[60, 'i', 'a'], [60 + 7 * 60, 'i', 'b'], [60 + 7 * 60 + 30, 'o', 'output is not input']]);
    const events = [{ at: start + 20 * min, kind: 'file.saved', detail: {} }];
    const report = signalReport(events, text, { startedAt: start, endedAt: start + 30 * min, now: start + 99 * min });
    // 1 min → 8 min (7 min), 8 min → 20 min save (12 min), 20 min → end 30 min (10 min).
    expect(report.idle.map((s) => s.ms)).toEqual([7 * min, 12 * min, 10 * min]);
    expect(report.idle[0]!.from).toBe(new Date(start + 1 * min).toISOString());
    expect(report.summary.longestIdleMs).toBe(12 * min);
    expect(report.summary.idleMinutes).toBe(SIGNAL_LIMITS.idleMinutes);
  });

  it('counts nothing below the threshold and nothing before the attempt started', () => {
    const start = T0 * 1000;
    const inputs: [number, string, string][] = [];
    for (let s = 0; s <= 600; s += 120) inputs.push([s, 'i', 'x']);
    const report = signalReport([], cast(inputs), { startedAt: start, endedAt: start + 600_000, now: 0 });
    expect(report.idle).toEqual([]);
    expect(signalReport([], null, { startedAt: null, endedAt: null, now: 0 }).idle).toEqual([]);
  });

  it('sums pastes and absences', () => {
    const report = signalReport(
      [
        { at: 1, kind: 'signal.paste', detail: { target: 'terminal', chars: 1240 } },
        { at: 2, kind: 'signal.paste', detail: { target: 'editor', chars: 300 } },
        { at: 3, kind: 'signal.away', detail: { cause: 'hidden', from: new Date(0).toISOString(), ms: 130_000 } },
      ],
      null,
      { startedAt: null, endedAt: null, now: 0 },
    );
    expect(report.summary).toMatchObject({ pasteCount: 2, pastedChars: 1540, awayCount: 1, awayMs: 130_000 });
  });
});

describe('signals service', () => {
  const attempt = { id: 'a_1', state: 'running' } as Attempt;
  /** An event log like the store's, read by kind. */
  const log = (clock: () => number) => {
    const events: { at: number; kind: string; detail: unknown }[] = [];
    return {
      events,
      deps: {
        addEvent: async (_id: string, kind: string, detail: unknown) => void events.push({ at: clock(), kind, detail }),
        events: async (_id: string, kinds: readonly string[]) => events.filter((e) => kinds.includes(e.kind)),
        mark: () => undefined,
        now: clock,
      },
    };
  };
  it('measures an absence on its own clock, once, and refuses past the rate', async () => {
    let now = 1_000_000;
    const { events, deps } = log(() => now);
    const service = new SignalsService(deps);
    await service.report(attempt, { kind: 'away', cause: 'blur' });
    now += 130_000;
    await service.report(attempt, { kind: 'away', cause: 'hidden' });
    await service.report(attempt, { kind: 'back' });
    expect(events.map(({ kind, detail }) => ({ kind, detail }))).toEqual([
      { kind: 'signal.away.open', detail: { cause: 'blur' } },
      { kind: 'signal.away', detail: { cause: 'blur', from: new Date(1_000_000).toISOString(), ms: 130_000 } },
    ]);
    // The first report is past the window: two in it so far.
    for (let i = 2; i < SIGNAL_LIMITS.reportsPerMinute; i++) await service.report(attempt, { kind: 'back' });
    await expect(service.report(attempt, { kind: 'back' })).rejects.toThrow(/Too many reports/);
    await expect(service.report({ ...attempt, state: 'submitted' } as Attempt, { kind: 'back' })).rejects.toThrow();
  });

  it('ends an absence opened before the server restarted, measured from when it began', async () => {
    let now = 5_000_000;
    const { events, deps } = log(() => now);
    await new SignalsService(deps).report(attempt, { kind: 'away', cause: 'hidden' });
    now += 90_000;
    // A new service over the same events: nothing of the old one's memory.
    const restarted = new SignalsService(deps);
    expect(await restarted.report(attempt, { kind: 'away', cause: 'blur' })).toEqual({ recorded: false });
    expect(await restarted.close(attempt.id, 'page away at the end')).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: 'signal.away', detail: { cause: 'hidden', from: new Date(5_000_000).toISOString(), ms: 90_000 } });
    expect(await restarted.close(attempt.id)).toBe(false);
  });

  it('reports an open absence as away now while the attempt runs, and not once it ended', () => {
    const at = 7_000_000;
    const events = [{ at, kind: 'signal.away.open', detail: { cause: 'hidden' } }];
    const running = signalReport(events, null, { startedAt: at - 1000, endedAt: null, now: at + 5000 });
    expect(running.awayNow).toEqual({ from: new Date(at).toISOString(), cause: 'hidden' });
    expect(awayNowText(running.awayNow!, at + 80_000)).toBe('tab hidden now, for 1 min 20 s');
    expect(signalReport(events, null, { startedAt: at - 1000, endedAt: at + 6000, now: at + 7000 }).awayNow).toBeNull();
    const back = [...events, { at: at + 100, kind: 'signal.away', detail: { cause: 'hidden', from: new Date(at).toISOString(), ms: 100 } }];
    expect(signalReport(back, null, { startedAt: at - 1000, endedAt: null, now: at + 5000 }).awayNow).toBeNull();
  });
});

describe('signal facts (review timeline and export)', () => {
  it('places each signal and transfer on the recording’s clock, in order, in plain words', () => {
    const start = Date.parse('2026-01-01T10:00:00Z');
    const iso = (s: number) => new Date(start + s * 1000).toISOString();
    const report = signalReport(
      [
        { at: start + 90_000, kind: 'signal.paste', detail: { target: 'editor', chars: 1240 } },
        { at: start + 200_000, kind: 'signal.away', detail: { cause: 'blur', from: iso(30), ms: 170_000 } },
      ],
      null,
      { startedAt: start, endedAt: start + 240_000, now: 0 },
    );
    const facts = signalFacts(report, [{ at: iso(10), kind: 'file.uploaded', detail: { path: '/root/work/a.txt', bytes: 3500 } }], iso(0));
    expect(facts).toEqual([
      { at: 10, kind: 'transfer', text: 'uploaded /root/work/a.txt (3.4 KiB)' },
      { at: 30, kind: 'away', text: 'tab out of focus for 2 min 50 s' },
      { at: 90, kind: 'paste', text: 'pasted 1,240 characters into the editor' },
    ]);
    expect(signalFacts(report, [], null)).toEqual([]);
    expect(signalSummaryItems(report.summary).map((i) => i.value)).toEqual(['1 (1,240 characters)', '2 min 50 s (1×)', 'none']);
  });
});

describe('transfer policy', () => {
  const practice = { mode: 'practice' } as const;
  const interview = { mode: 'interview' } as const;
  it('allows practice, not interviews, by default; the invite chooses; the exercise’s false wins', () => {
    expect(transferPolicy({}, practice)).toEqual({ upload: true, download: true });
    expect(transferPolicy({}, interview)).toEqual({ upload: false, download: false });
    expect(transferPolicy({}, interview, { fileUpload: true, fileDownload: null })).toEqual({ upload: true, download: false });
    expect(transferPolicy({ files: { upload: true } }, interview, { fileUpload: false })).toEqual({ upload: false, download: false });
    expect(transferPolicy({ files: { download: true } }, interview)).toEqual({ upload: false, download: true });
    expect(transferPolicy({ files: { upload: false } }, interview, { fileUpload: true })).toEqual({ upload: false, download: false });
    expect(transferPolicy({ files: { upload: false } }, practice)).toEqual({ upload: false, download: true });
    // A practice attempt has no invite to widen anything.
    expect(transferPolicy({ files: { download: false } }, practice, { fileDownload: true })).toEqual({ upload: true, download: false });
  });
});

describe('the review’s wording', () => {
  it('says sizes and stretches plainly', () => {
    expect(pasteText(1240, 'terminal')).toBe('pasted 1,240 characters into the terminal');
    expect(formatStretch(130_000)).toBe('2 min 10 s');
    expect(formatStretch(45_400)).toBe('45 s');
    expect(formatStretch(120_000)).toBe('2 min');
    expect(formatStretch(3_780_000)).toBe('1 h 3 min');
  });
});

describe('exercise.yaml `files:`', () => {
  const valid = `id: demo-files
title: Demo files
summary: A demo exercise for the tests.
difficulty: easy
timeLimitMinutes: 10
image: base
`;
  const load = (extra: string) => {
    const root = tempDataDir();
    try {
      fs.mkdirSync(path.join(root, 'demo-files'), { recursive: true });
      fs.writeFileSync(path.join(root, 'demo-files', 'exercise.yaml'), valid + extra);
      fs.writeFileSync(path.join(root, 'demo-files', 'README.md'), '# Demo\n');
      return ExerciseCatalog.load(root);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  };
  it('is read as written, absent as nothing (the attempt’s default)', () => {
    expect(load('files: {upload: false}\n').get('demo-files')?.files).toEqual({ upload: false });
    expect(load('').get('demo-files')?.files).toEqual({});
  });
  it('leaves the exercise out, naming the field, when it is not booleans', () => {
    for (const bad of ['files: {upload: yes-please}\n', 'files: {share: true}\n', 'files: true\n']) {
      const catalog = load(bad);
      expect(catalog.get('demo-files'), bad).toBeUndefined();
      expect(catalog.problems.map(formatProblem).join('\n'), bad).toMatch(/files/);
    }
  });
});

describe('input times of a recording file', () => {
  it('reads them line by line, as from the text, and again once the file grew', async () => {
    const dir = tempDataDir();
    try {
      const file = path.join(dir, 'a.cast');
      const text = cast([[0.5, 'o', 'x'.repeat(100_000)], [1.25, 'i', 'l'], [3.5, 'i', 's']]);
      fs.writeFileSync(file, text);
      expect(await inputTimesOfFile(file)).toEqual(inputTimes(text));
      fs.appendFileSync(file, JSON.stringify([9, 'i', '\r']) + '\n');
      expect((await inputTimesOfFile(file)).at(-1)).toBe(T0 * 1000 + 9000);
      // A line still being written counts once it can be read, and once only when it is whole.
      fs.appendFileSync(file, '[10.5, "i", "x');
      expect((await inputTimesOfFile(file)).at(-1)).toBe(T0 * 1000 + 10_500);
      fs.appendFileSync(file, '"]\n' + JSON.stringify([12, 'o', 'y']) + '\n');
      const all = await inputTimesOfFile(file);
      expect(all).toEqual([...inputTimes(text), T0 * 1000 + 9000, T0 * 1000 + 10_500]);
      expect(all).toEqual(inputTimes(fs.readFileSync(file, 'utf8')));
      expect(await inputTimesOfFile(path.join(dir, 'missing.cast'))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
