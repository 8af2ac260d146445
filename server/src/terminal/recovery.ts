import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { ShellLogEntry } from './terminal-session.js';
import { CAST_EVENTS, MARKERS } from './recorder.js';

/** Characters of the recording's last output looked for in the engine's log, to find where the recording stopped. */
const OVERLAP_CHARS = 256;
/** At most this many characters are compared where the engine's log meets the output of the new attach. */
const ATTACH_OVERLAP_CHARS = 64 * 1024;

export interface RecoveryResult {
  /** Output characters added to the recording. */
  chars: number;
  /** How the join was found: the recording's last output found in the log, or by time alone. */
  joinedBy: 'overlap' | 'time' | 'none';
  /** Characters of the log left out because the new attach had already received them. */
  attachedChars: number;
}

/**
 * The length of the longest start of `next` that `text` ends with (KMP over at most `limit` characters of each):
 * where a log read after an attach ends inside what the attach received.
 */
export function overlapLength(text: string, next: string, limit = ATTACH_OVERLAP_CHARS): number {
  const pattern = next.slice(0, limit);
  const haystack = text.slice(-limit);
  if (!pattern || !haystack) return 0;
  const fail = new Array<number>(pattern.length).fill(0);
  for (let i = 1, k = 0; i < pattern.length; i++) {
    while (k > 0 && pattern[i] !== pattern[k]) k = fail[k - 1]!;
    if (pattern[i] === pattern[k]) k++;
    fail[i] = k;
  }
  let k = 0;
  for (let i = 0; i < haystack.length; i++) {
    const c = haystack[i];
    if (k === pattern.length) k = fail[k - 1]!;
    while (k > 0 && c !== pattern[k]) k = fail[k - 1]!;
    if (c === pattern[k]) k++;
  }
  return k;
}

/** The recording's last event time (seconds) and its last output characters. */
function recordingTail(text: string): { lastAt: number; tail: string } {
  let lastAt = 0;
  const outputs: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    try {
      const ev = JSON.parse(line) as unknown;
      if (!Array.isArray(ev) || typeof ev[0] !== 'number') continue;
      lastAt = Math.max(lastAt, ev[0]);
      if (ev[1] === CAST_EVENTS.output && typeof ev[2] === 'string') outputs.push(ev[2]);
    } catch {
      /* a half-written last line */
    }
  }
  return { lastAt, tail: outputs.join('').slice(-OVERLAP_CHARS * 4) };
}

/**
 * Adds to a recording what the shell printed while no server recorded it (between a crash and the adoption
 * after it), taken from the engine's log of the shell: a `recovered` marker, then the missing output at the
 * times the engine received it. Where it starts: just after the recording's last output, found in the log; when
 * that cannot be found, whatever the engine logged after the recording's last event. Where it ends: the end of the
 * log, or, when the shell was attached before the log was read (`attached`: what that attach has received so
 * far), where the log's end runs into the attach's first output, which the recording gets from the attach.
 */
export function recoverIntoRecording(
  file: string,
  startedAt: number,
  entries: ShellLogEntry[],
  opts: { maxBytes: number; now?: number; attached?: string },
): RecoveryResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { chars: 0, joinedBy: 'none', attachedChars: 0 };
  }
  // A crash can leave the last line half written: cut back to the last complete event.
  if (!text.endsWith('\n')) {
    text = text.slice(0, text.lastIndexOf('\n') + 1);
    fs.writeFileSync(file, text);
  }
  if (entries.length === 0) return { chars: 0, joinedBy: 'none', attachedChars: 0 };
  const { lastAt, tail } = recordingTail(text);
  const lastAbs = startedAt + lastAt * 1000;

  // The log as text, with where each entry starts.
  const decoder = new StringDecoder('utf8');
  const pieces = entries.map((e) => ({ at: e.at, text: decoder.write(e.data) }));
  const joined = pieces.map((p) => p.text).join('');
  let from = -1;
  let joinedBy: RecoveryResult['joinedBy'] = 'time';
  const needle = tail.slice(-OVERLAP_CHARS);
  if (needle.length >= 16) {
    const at = joined.lastIndexOf(needle);
    if (at !== -1) {
      from = at + needle.length;
      joinedBy = 'overlap';
    }
  }
  const missing: { at: number; text: string }[] = [];
  let offset = 0;
  for (const p of pieces) {
    const start = offset;
    offset += p.text.length;
    if (joinedBy === 'overlap') {
      if (offset <= from) continue;
      missing.push({ at: p.at, text: p.text.slice(Math.max(0, from - start)) });
    } else if (p.at > lastAbs) {
      missing.push(p);
    }
  }
  // The log's end that the attach received too: cut from the end of what is missing.
  const attachedChars = opts.attached ? overlapLength(missing.map((m) => m.text).join(''), opts.attached) : 0;
  for (let cut = attachedChars; cut > 0 && missing.length > 0; ) {
    const last = missing[missing.length - 1]!;
    if (last.text.length <= cut) {
      cut -= last.text.length;
      missing.pop();
    } else {
      last.text = last.text.slice(0, last.text.length - cut);
      cut = 0;
    }
  }
  const chars = missing.reduce((n, m) => n + m.text.length, 0);
  if (chars === 0) return { chars: 0, joinedBy, attachedChars };

  const now = opts.now ?? Date.now();
  // Never before the last recorded event, never after now: asciicast times only go forward.
  const time = (abs: number) => Number((Math.min(Math.max(abs, lastAbs), now) - startedAt) / 1000).toFixed(6);
  const lines = [JSON.stringify([Number(time(missing[0]!.at)), CAST_EVENTS.marker, `${MARKERS.recovered} (${chars} characters from the engine's log)`])];
  for (const m of missing) if (m.text) lines.push(JSON.stringify([Number(time(m.at)), CAST_EVENTS.output, m.text]));
  const add = `${lines.join('\n')}\n`;
  if (Buffer.byteLength(text) + Buffer.byteLength(add) > opts.maxBytes) return { chars: 0, joinedBy: 'none', attachedChars };
  fs.appendFileSync(file, add);
  return { chars, joinedBy, attachedChars };
}
