// Worker thread entry: diffs two snapshots (see diffSnapshots in snapshot.ts) off the server's event loop.
import { parentPort } from 'node:worker_threads';
import { serveOneMessage } from '../off-thread.js';
import type { DiffJob } from './snapshot.js';
import { diffSnapshotTars } from './snapshot-diff.js';

if (parentPort) {
  void serveOneMessage<DiffJob, Awaited<ReturnType<typeof diffSnapshotTars>>>(parentPort, (job) =>
    diffSnapshotTars(Buffer.from(job.before.buffer, job.before.byteOffset, job.before.byteLength), Buffer.from(job.after.buffer, job.after.byteOffset, job.after.byteLength), job.budget),
  );
}
