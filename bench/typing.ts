// People typing: attempts typed into at human speed (letters and backspaces in turn, jittered gaps, staggered
// starts), each keystroke timed until its echo. Used by the density and the grading-burst sections.
import { performance } from 'node:perf_hooks';
import { keystroke, sleep, type Shell } from './client.js';

/** A keystroke whose echo never came counts as this long. */
export const LOST_MS = 10_000;
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export interface Typed {
  /** Echo latency of every keystroke (ms); a lost echo counts as LOST_MS. */
  latencies: number[];
  lost: number;
}

/**
 * Types into every shell at about `keysPerSecond` until `until()` says to stop (checked before each keystroke), and
 * resolves once every shell has stopped.
 */
export async function typeInto(shells: Shell[], keysPerSecond: number, until: () => boolean): Promise<Typed> {
  const typed: Typed = { latencies: [], lost: 0 };
  const interval = 1000 / keysPerSecond;
  await Promise.all(
    shells.map(async (shell, i) => {
      // Staggered starts and jittered gaps, as people do not type in lockstep.
      let next = performance.now() + Math.random() * interval;
      // Even k: a letter (a different one per attempt), odd k: a backspace.
      let k = 2 * i;
      for (;;) {
        await sleep(Math.max(0, next - performance.now()));
        if (until()) break;
        const letter = LETTERS[k % LETTERS.length]!;
        // Letters and backspaces in turn, so the line stays short.
        const [key, test] = k % 2 === 0 ? [letter, (t: string) => t.includes(letter)] : ['\x7f', (t: string) => t.includes('\b')];
        k++;
        try {
          typed.latencies.push(await keystroke(shell, key, test, LOST_MS));
        } catch {
          typed.lost++;
          typed.latencies.push(LOST_MS);
          // Whatever arrives late must not satisfy the next wait: start the line over.
          shell.write('\x15');
          await sleep(200);
        }
        next += interval * (0.5 + Math.random());
      }
    }),
  );
  return typed;
}
