import fs from 'node:fs';
import path from 'node:path';
import type { DataBudgetConfig } from '../config.js';
import { errors } from '../errors.js';
import type { Attempt } from '../store/attempts-repo.js';

/** How often the growing files (recordings of active attempts, the database) are measured again, at most. */
const REFRESH_MS = 2000;

/** What the data directory holds against its budget (shown by /api/health). */
export interface DataUsage {
  usedBytes: number;
  /** 0: no budget. */
  maxBytes: number;
  interviewReserveBytes: number;
  /** Whether new practice attempts, and new interviews, would be refused now. */
  practiceRefused: boolean;
  interviewsRefused: boolean;
}

export interface DataBudgetDeps {
  dataDir: string;
  budget: DataBudgetConfig;
  /** The recording files of attempts that may still grow (their attempt is active). */
  liveRecordings: () => string[] | Promise<string[]>;
  now?: () => number;
}

/**
 * The data directory's budget, measured cheaply: the directory is walked once (at start-up); from then on a
 * running total is kept as snapshots are written and attempts deleted, and only the files that grow by themselves
 * (the recordings of active attempts, the database) are measured again, at most every REFRESH_MS. New practice
 * attempts are refused once the total passes the budget minus the interviews' reserve, new interviews once it
 * passes the whole budget; attempts already running are never cut off.
 */
export class DataBudget {
  /** Bytes under recordings/ and snapshots/ as last counted. */
  private settled = 0;
  /** Recordings that may still grow -> the bytes of them counted in `settled`. */
  private readonly live = new Map<string, number>();
  private dbBytes = 0;
  private refreshedAt = -Infinity;
  private readonly now: () => number;

  /** The count at start-up (every figure waits for it). */
  private readonly ready: Promise<void>;

  constructor(private readonly deps: DataBudgetDeps) {
    this.now = deps.now ?? Date.now;
    this.ready = this.reconcile();
    // Its failure surfaces where a figure is asked for (which awaits it), not as an unhandled rejection meanwhile.
    this.ready.catch(() => undefined);
  }

  /** Counts everything again from the files on disk (start-up). */
  async reconcile(): Promise<void> {
    const liveRecordings = await this.deps.liveRecordings();
    const { dataDir } = this.deps;
    this.settled = treeBytes(path.join(dataDir, 'recordings')) + treeBytes(path.join(dataDir, 'snapshots'));
    this.live.clear();
    for (const file of liveRecordings) this.live.set(file, fileBytes(file));
    this.refreshedAt = -Infinity;
  }

  /** Runs `write` (which creates or replaces `file`) and counts the change in the file's size. */
  track<T>(file: string, write: () => T): T {
    const before = fileBytes(file);
    try {
      return write();
    } finally {
      this.settled += fileBytes(file) - before;
    }
  }

  /** Counts a file written outside `track` (e.g. streamed), which did not exist before. */
  added(file: string): void {
    this.settled += fileBytes(file);
  }

  /** Deletes a file or directory and takes what it held off the total. */
  remove(target: string): void {
    const counted = this.live.get(target);
    const bytes = counted ?? treeBytes(target);
    this.live.delete(target);
    fs.rmSync(target, { recursive: true, force: true });
    this.settled = Math.max(0, this.settled - bytes);
  }

  async usage(): Promise<DataUsage> {
    await this.ready;
    await this.refresh();
    const { maxBytes, interviewReserveBytes } = this.deps.budget;
    const usedBytes = this.settled + this.dbBytes;
    return {
      usedBytes,
      maxBytes,
      interviewReserveBytes,
      practiceRefused: maxBytes > 0 && usedBytes >= maxBytes - interviewReserveBytes,
      interviewsRefused: maxBytes > 0 && usedBytes >= maxBytes,
    };
  }

  /** Refuses a new attempt of this kind when the data directory has no room left for it (507). */
  async assertRoom(mode: Attempt['mode']): Promise<void> {
    if (this.deps.budget.maxBytes === 0) return;
    const usage = await this.usage();
    if (mode === 'practice' ? usage.practiceRefused : usage.interviewsRefused) throw errors.storageFull(mode);
  }

  /** Measures the growing files again when the last measure is older than REFRESH_MS. */
  private async refresh(): Promise<void> {
    const now = this.now();
    if (now - this.refreshedAt < REFRESH_MS) return;
    this.refreshedAt = now;
    const current = new Set(await this.deps.liveRecordings());
    // Recordings whose attempt ended are measured one last time and settle at that size.
    for (const file of new Set([...current, ...this.live.keys()])) {
      const size = fileBytes(file);
      this.settled += size - (this.live.get(file) ?? 0);
      if (current.has(file)) this.live.set(file, size);
      else this.live.delete(file);
    }
    const db = path.join(this.deps.dataDir, 'opslab.db');
    this.dbBytes = fileBytes(db) + fileBytes(`${db}-wal`) + fileBytes(`${db}-shm`);
  }
}

function fileBytes(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The bytes of the regular files at and below `target` (links are not followed). */
function treeBytes(target: string): number {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(target);
  } catch {
    return 0;
  }
  if (stat.isFile()) return stat.size;
  if (!stat.isDirectory()) return 0;
  let total = 0;
  for (const name of fs.readdirSync(target)) total += treeBytes(path.join(target, name));
  return total;
}
