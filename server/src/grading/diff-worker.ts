// Worker thread entry: diffs two snapshots (see diffSnapshots in snapshot.ts) off the server's event loop.
import { parentPort } from 'node:worker_threads';
import { serveOneMessage } from '../off-thread.js';
import type { DiffJob } from './snapshot.js';
import { diffSnapshotTars } from './snapshot-diff.js';

/** A stored snapshot's path stays a path (read as a stream); bytes sent over become a Buffer again. */
const source = (s: string | Uint8Array) => (typeof s === 'string' ? s : Buffer.from(s.buffer, s.byteOffset, s.byteLength));

if (parentPort) {
  void serveOneMessage<DiffJob, Awaited<ReturnType<typeof diffSnapshotTars>>>(parentPort, (job) =>
    diffSnapshotTars(source(job.before), source(job.after), job.budget),
  );
}
