import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SandboxDriver } from '../sandbox/sandbox-driver.js';
import { runOffThread, siblingModule } from '../off-thread.js';
import { ArchiveWriter, MiB } from './archive.js';
import { DEFAULT_DIFF_BUDGET, type DiffBudget, type SnapshotDiff, type SnapshotSource } from './snapshot-diff.js';

export { DIFF_MAX_FILE_BYTES, diffSnapshotTars, type Change, type DiffBudget, type SnapshotDiff, type SnapshotSource } from './snapshot-diff.js';

/** A snapshot keeps at most this much of each file, and by default this much in all (OPSLAB_SNAPSHOT_MAX_MB). */
const SNAPSHOT_MAX_FILE_BYTES = 2 * MiB;
export const SNAPSHOT_MAX_TOTAL_BYTES = 128 * MiB;

/** The note a snapshot cut at its size limit carries in its list of cut files (the diff reads it back). */
const limitNote = (bytes: number) =>
  `(the snapshot reached its size limit of ${bytes} bytes: files that did not fit were kept empty and are listed above)`;

export interface SnapshotOptions {
  /** The most file content a snapshot keeps in all; past it further files are kept empty and listed. */
  maxTotalBytes?: number;
}

/** What was written: the tar's size, and whether the size limit cut it (then it carries the note). */
export interface SnapshotWritten {
  bytes: number;
  cut: boolean;
}

/**
 * The tar of the given sandbox paths as a stream (entries named by their sandbox path without the leading slash).
 * Links stay links (their targets are only data here), special files are left out, big files are cut, and past
 * the size limit further files are kept empty; every cut file is listed in `.opslab-snapshot-truncated`.
 */
function snapshotStream(
  driver: Pick<SandboxDriver, 'copyOut'>,
  sandboxId: string,
  paths: string[],
  opts: SnapshotOptions,
): { stream: Readable; produced: Promise<{ cut: boolean }> } {
  const maxTotalBytes = opts.maxTotalBytes ?? SNAPSHOT_MAX_TOTAL_BYTES;
  const writer = new ArchiveWriter({
    mode: 'snapshot',
    prefix: '',
    roots: paths,
    maxFileBytes: SNAPSHOT_MAX_FILE_BYTES,
    maxTotalBytes,
  });
  const produced = (async () => {
    for (const p of paths) {
      let tar: Readable;
      try {
        tar = await driver.copyOut(sandboxId, p);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) continue;
        throw err;
      }
      await writer.addArchive(p, tar);
    }
    const cut = writer.truncated.some((line) => line.endsWith('(total size limit reached)'));
    if (cut) writer.truncated.push(limitNote(maxTotalBytes));
    // Files cut for the snapshot are marked, so the diff can say it did not compare them.
    if (writer.truncated.length) await writer.addFile('/.opslab-snapshot-truncated', writer.truncated.join('\n'));
    writer.finalize();
    return { cut };
  })().catch((err: Error) => {
    writer.pack.destroy(err);
    throw err;
  });
  return { stream: writer.stream(), produced };
}

/** A snapshot in memory: for the initial snapshot of a pristine sandbox (the exercise's own files) and tests. */
export async function snapshotSandbox(
  driver: Pick<SandboxDriver, 'copyOut'>,
  sandboxId: string,
  paths: string[],
  opts: SnapshotOptions = {},
): Promise<Buffer> {
  const { stream, produced } = snapshotStream(driver, sandboxId, paths, opts);
  const chunks: Buffer[] = [];
  const consume = (async () => {
    for await (const c of stream) chunks.push(c as Buffer);
  })();
  const [p, c] = await Promise.allSettled([produced, consume]);
  if (p.status === 'rejected') throw p.reason;
  if (c.status === 'rejected') throw c.reason;
  return Buffer.concat(chunks);
}

/**
 * A snapshot streamed to `file`, never held whole in memory: written to `<file>.part` and renamed once complete,
 * so a file at `file` is always a whole snapshot. A snapshot over the size limit is stored cut at it, with the note.
 */
export async function snapshotSandboxToFile(
  driver: Pick<SandboxDriver, 'copyOut'>,
  sandboxId: string,
  paths: string[],
  file: string,
  opts: SnapshotOptions = {},
): Promise<SnapshotWritten> {
  const part = `${file}.part`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const { stream, produced } = snapshotStream(driver, sandboxId, paths, opts);
  const [p, c] = await Promise.allSettled([produced, pipeline(stream, fs.createWriteStream(part))]);
  if (p.status === 'rejected' || c.status === 'rejected') {
    fs.rmSync(part, { force: true });
    throw p.status === 'rejected' ? p.reason : (c as PromiseRejectedResult).reason;
  }
  fs.renameSync(part, file);
  return { bytes: fs.statSync(file).size, cut: p.value.cut };
}

/** What a diff worker is sent. */
export interface DiffJob {
  /** A snapshot in memory, or the path of a stored one (read from disk as a stream by the worker). */
  before: Uint8Array | string;
  after: Uint8Array | string;
  budget: DiffBudget;
}

/**
 * The diff of two snapshots, on a worker thread within the budget: the server's event loop never waits on it.
 * Stored snapshots are given by path and read by the worker as streams, keeping at most the budget's content.
 * The worker's heap is bounded too; past its bounds the call rejects and the snapshots stay as they were stored.
 */
export function diffSnapshots(before: SnapshotSource, after: SnapshotSource, budget: DiffBudget = DEFAULT_DIFF_BUDGET): Promise<SnapshotDiff> {
  return runOffThread<DiffJob, SnapshotDiff>(
    siblingModule(import.meta.url, 'diff-worker'),
    { before, after, budget },
    // Reading two 128 MiB tars takes a few seconds at most; the budget bounds the diffing.
    { timeoutMs: budget.totalMs + 60_000, maxHeapMb: 1024 },
  );
}
