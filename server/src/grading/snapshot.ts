import { Readable } from 'node:stream';
import type { SandboxDriver } from '../sandbox/sandbox-driver.js';
import { runOffThread, siblingModule } from '../off-thread.js';
import { ArchiveWriter, MiB } from './archive.js';
import { DEFAULT_DIFF_BUDGET, type DiffBudget, type SnapshotDiff } from './snapshot-diff.js';

export { DIFF_MAX_FILE_BYTES, diffSnapshotTars, type Change, type DiffBudget, type SnapshotDiff } from './snapshot-diff.js';

/** A snapshot keeps at most this much of each file, and this much in all. */
const SNAPSHOT_MAX_FILE_BYTES = 2 * MiB;
const SNAPSHOT_MAX_TOTAL_BYTES = 128 * MiB;

/**
 * A tar of the given sandbox paths (entries named by their sandbox path without the leading slash). Links stay
 * links (their targets are only data here), special files are left out, big files are cut.
 */
export async function snapshotSandbox(driver: SandboxDriver, sandboxId: string, paths: string[]): Promise<Buffer> {
  const writer = new ArchiveWriter({
    mode: 'snapshot',
    prefix: '',
    roots: paths,
    maxFileBytes: SNAPSHOT_MAX_FILE_BYTES,
    maxTotalBytes: SNAPSHOT_MAX_TOTAL_BYTES,
  });
  const produce = (async () => {
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
    // Files cut for the snapshot are marked, so the diff can say it did not compare them.
    if (writer.truncated.length) await writer.addFile('/.opslab-snapshot-truncated', writer.truncated.join('\n'));
    writer.finalize();
  })().catch((err: Error) => {
    writer.pack.destroy(err);
    throw err;
  });
  const chunks: Buffer[] = [];
  const consume = (async () => {
    for await (const c of writer.stream()) chunks.push(c as Buffer);
  })();
  const [p, c] = await Promise.allSettled([produce, consume]);
  if (p.status === 'rejected') throw p.reason;
  if (c.status === 'rejected') throw c.reason;
  return Buffer.concat(chunks);
}

/** What a diff worker is sent. */
export interface DiffJob {
  before: Uint8Array;
  after: Uint8Array;
  budget: DiffBudget;
}

/**
 * The diff of two snapshots, on a worker thread within the budget: the server's event loop never waits on it.
 * The worker's heap is bounded too; past its bounds the call rejects and the snapshots stay as they were stored.
 */
export function diffSnapshots(before: Buffer, after: Buffer, budget: DiffBudget = DEFAULT_DIFF_BUDGET): Promise<SnapshotDiff> {
  return runOffThread<DiffJob, SnapshotDiff>(
    siblingModule(import.meta.url, 'diff-worker'),
    { before, after, budget },
    // Reading two 128 MiB tars takes a few seconds at most; the budget bounds the diffing.
    { timeoutMs: budget.totalMs + 60_000, maxHeapMb: 1024 },
  );
}
