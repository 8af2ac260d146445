import fs from 'node:fs';
import type { CommandTimeline } from '../../../contract/review.js';
import { runOffThread, siblingModule } from '../off-thread.js';

/** Timelines kept parsed (the most recently used). */
const CACHE_ENTRIES = 32;

/**
 * The command timelines of recordings, parsed on a worker thread (a 64 MB recording takes seconds) and kept
 * while the recording is unchanged (same size and time): asking again costs nothing, and one recording is never
 * parsed twice at once however many ask.
 */
export class CommandTimelines {
  private readonly cache = new Map<string, { key: string; timeline: CommandTimeline }>();
  private readonly parsing = new Map<string, Promise<CommandTimeline>>();

  async get(file: string): Promise<CommandTimeline | null> {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return null;
    }
    const key = `${st.size}:${st.mtimeMs}`;
    const hit = this.cache.get(file);
    if (hit?.key === key) {
      this.cache.delete(file);
      this.cache.set(file, hit);
      return hit.timeline;
    }
    const inFlight = this.parsing.get(`${file}\u0000${key}`);
    if (inFlight) return inFlight;
    const run = runOffThread<{ file: string }, CommandTimeline>(siblingModule(import.meta.url, 'commands-worker'), { file }, { timeoutMs: 120_000, maxHeapMb: 1024 })
      .then((timeline) => {
        this.cache.delete(file);
        this.cache.set(file, { key, timeline });
        while (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
        return timeline;
      })
      .finally(() => this.parsing.delete(`${file}\u0000${key}`));
    this.parsing.set(`${file}\u0000${key}`, run);
    return run;
  }
}
