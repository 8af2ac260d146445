// The review page's reading of a recording: event times and markers, and the mapping between the recording's
// clock (the command timeline's) and asciinema-player's clock once idle pauses are cut short.
import { describe, expect, it } from 'vitest';
import { formatOffset, IdleClock, parseCast } from '../../web/src/review/cast.js';
import { fixtureCast } from '../fixtures/review/export-data.js';

describe('parseCast', () => {
  it('reads the size, every event time and the markers; skips lines that are not events', () => {
    const text = `${fixtureCast()}not json\n[1, "o"\n\n`;
    const info = parseCast(text);
    expect(info).toMatchObject({ cols: 100, rows: 24, duration: 121 });
    expect(info.times).toHaveLength(11);
    expect(info.markers).toEqual([
      { time: 0.1, label: 'started' },
      { time: 45, label: 'checks: 5/8' },
      { time: 121, label: 'submitted' },
    ]);
  });

  it('falls back to 80x24 and no events for an empty or broken recording', () => {
    expect(parseCast('')).toEqual({ cols: 80, rows: 24, times: [], markers: [], duration: 0 });
  });
});

describe('IdleClock', () => {
  // Gaps: 1, 1, 10 (cut to 2), 0.5, 30 (cut to 2).
  const times = [1, 2, 12, 12.5, 42.5];

  it('shortens every gap longer than the limit, as the player does', () => {
    const clock = new IdleClock(times, 2);
    expect(times.map((t) => clock.toPlayer(t))).toEqual([1, 2, 4, 4.5, 6.5]);
    // Inside a long gap the player's time stops at the limit.
    expect(clock.toPlayer(7)).toBe(4);
    expect(clock.toPlayer(2.5)).toBe(2.5);
    // Before the first event.
    expect(clock.toPlayer(0.5)).toBe(0.5);
  });

  it('maps the player time back to the recording', () => {
    const clock = new IdleClock(times, 2);
    for (const t of times) expect(clock.toRecording(clock.toPlayer(t))).toBeCloseTo(t, 9);
    expect(clock.toRecording(5)).toBeCloseTo(12.5 + 0.5, 9);
  });

  it('keeps the real time without a limit', () => {
    const clock = new IdleClock(times, null);
    expect(clock.toPlayer(30)).toBe(30);
    expect(clock.toRecording(30)).toBe(30);
  });
});

describe('formatOffset', () => {
  it('writes mm:ss, with hours when needed', () => {
    expect(formatOffset(0)).toBe('00:00');
    expect(formatOffset(247.9)).toBe('04:07');
    expect(formatOffset(3723)).toBe('1:02:03');
    expect(formatOffset(-3)).toBe('00:00');
  });
});
