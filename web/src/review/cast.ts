// Reading an asciicast v2 recording for the replay: its size, event times and markers, and the mapping between
// the recording's clock and the player's once idle pauses are cut short. No DOM here (unit-tested in Node).

export interface CastMarker {
  /** Recording seconds. */
  time: number;
  label: string;
}

/** What the replay needs from a recording: its size, the time of every event and the markers. */
export interface CastInfo {
  cols: number;
  rows: number;
  /** Recording seconds of every event, in file order (the player's idle limiter walks them in that order). */
  times: number[];
  markers: CastMarker[];
  duration: number;
}

/** Reads an asciicast v2 file; lines that are not events are skipped, as the player does. */
export function parseCast(text: string): CastInfo {
  const lines = text.split('\n');
  let cols = 80;
  let rows = 24;
  try {
    const header = JSON.parse(lines[0] ?? '') as { width?: unknown; height?: unknown };
    if (typeof header.width === 'number' && header.width > 0) cols = header.width;
    if (typeof header.height === 'number' && header.height > 0) rows = header.height;
  } catch {
    // The player reports an unreadable header itself.
  }
  const times: number[] = [];
  const markers: CastMarker[] = [];
  let duration = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(event) || typeof event[0] !== 'number') continue;
    times.push(event[0]);
    if (event[0] > duration) duration = event[0];
    if (event[1] === 'm') markers.push({ time: event[0], label: typeof event[2] === 'string' ? event[2] : '' });
  }
  return { cols, rows, times, markers, duration };
}

/**
 * Recording time <-> player time under an idle limit, computed the way asciinema-player's limiter does: every
 * gap between two events longer than the limit is shortened to the limit.
 */
export class IdleClock {
  private readonly compressed: number[];

  constructor(
    private readonly times: number[],
    readonly limit: number | null,
  ) {
    const cap = limit ?? Infinity;
    this.compressed = [];
    let previous = 0;
    let shift = 0;
    for (const t of times) {
      const delay = t - previous;
      if (delay > cap) shift += delay - cap;
      previous = t;
      this.compressed.push(t - shift);
    }
  }

  /** Player seconds for a moment of the recording. */
  toPlayer(recordingSeconds: number): number {
    const cap = this.limit ?? Infinity;
    const i = lastAtOrBefore(this.times, recordingSeconds);
    if (i < 0) return Math.min(recordingSeconds, cap);
    return this.compressed[i]! + Math.min(recordingSeconds - this.times[i]!, cap);
  }

  /** Recording seconds for a moment of the player. */
  toRecording(playerSeconds: number): number {
    const i = lastAtOrBefore(this.compressed, playerSeconds);
    if (i < 0) return playerSeconds;
    return this.times[i]! + (playerSeconds - this.compressed[i]!);
  }
}

/** Index of the last value <= x in a non-decreasing array, or -1. */
function lastAtOrBefore(values: number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export { formatOffset } from '../../../contract/review.js';
