import path from 'node:path';
import type { CleanroomSpec } from '../exercises/catalog.js';
import { sandboxImageTag } from '../images/index.js';
import { packDir } from '../local-tar.js';
import { ArchiveWriter } from './archive.js';
import type { FileSource } from './file-source.js';
import type { JobDriver, JobExecResult, ResourceLimits } from '../sandbox/sandbox-driver.js';
import { watchJobDisk, type JobDiskQuota } from '../sandbox/disk-watch.js';
import { BACKSTOP_SLACK_MS, KILL_AFTER_SECONDS, MiB } from './limits.js';

export const DEFAULT_CLEANROOM_LIMITS: ResourceLimits = { memoryMb: 1024, cpus: 1, pids: 512 };
export const CLEANROOM_OUTPUT_LIMIT_BYTES = MiB;

/** What a clean-room job needs of the grading it belongs to. */
export interface CleanroomOptions {
  driver: JobDriver;
  exercise: { dir: string };
  cleanroomLimits?: ResourceLimits;
  /** The disk quota of each clean room (the sandbox's: OPSLAB_SANDBOX_DISK_MB); none when left out. */
  cleanroomDisk?: JobDiskQuota;
  imageRef?: (name: string) => string;
}

/** The exit code a clean-room job gets when it was stopped for writing past its disk quota. */
export const DISK_QUOTA_EXIT_CODE = 125;

/** Where a clean-room job's `hidden` directory is put. */
export const CLEANROOM_HIDDEN = '/opt/opslab-hidden';

/**
 * How much of a job's output is kept: the first quarter and the last three quarters of the 1 MiB. A job's result
 * lines come at its end, and a flood of output from the candidate's code must not push them out.
 */
export const CLEANROOM_OUTPUT_CAPS = { maxOutputBytes: CLEANROOM_OUTPUT_LIMIT_BYTES / 4, tailBytes: (CLEANROOM_OUTPUT_LIMIT_BYTES * 3) / 4 };

/**
 * The grader's own material into a job under CLEANROOM_HIDDEN/<to>: root's and not writable by others, so the
 * candidate's code, run as another user, can neither change nor replace it.
 */
export async function putGraderMaterial(driver: JobDriver, id: string, exerciseDir: string, entries: { from: string; to: string }[]): Promise<void> {
  for (const e of entries) {
    const prefix = path.posix.join(CLEANROOM_HIDDEN, e.to).slice(1);
    await driver.copyIn(id, '/', packDir(path.join(exerciseDir, e.from), { prefix, uid: 0, gid: 0, readOnlyForOthers: true }));
  }
}

/** A finished job's exit code and output, with the platform's last line when it stopped the job (disk quota, time limit). */
export function jobResult(
  r: Pick<JobExecResult, 'exitCode' | 'stdout' | 'stderr'>,
  stop: { diskStoppedAt: number | null; quotaBytes: number; timedOut: boolean; timeoutSeconds: number },
): { exitCode: number; output: Buffer } {
  const output = Buffer.from(r.stdout + r.stderr, 'utf8');
  if (stop.diskStoppedAt !== null) {
    // What was written rounds up, so that a job stopped just past the quota never reads as written up to it.
    const line = `\n[opslab] stopped: the job wrote ${Math.ceil(stop.diskStoppedAt / MiB)} MB to its disk, over the quota of ${Math.round(stop.quotaBytes / MiB)} MB\n`;
    return { exitCode: DISK_QUOTA_EXIT_CODE, output: Buffer.concat([output, Buffer.from(line)]) };
  }
  if (stop.timedOut) {
    return { exitCode: 124, output: Buffer.concat([output, Buffer.from(`\n[opslab] timed out after ${stop.timeoutSeconds} s\n`)]) };
  }
  return { exitCode: r.exitCode ?? 124, output };
}

/** One clean-room job: a throwaway container of a pristine sandbox image with a copy of `copy`. */
export async function runCleanroom(
  opts: CleanroomOptions,
  files: FileSource,
  job: CleanroomSpec,
  variant: Record<string, string>,
  common: { labels: Record<string, string>; exerciseId: string; attemptId?: string },
): Promise<{ exitCode: number; output: Buffer; durationMs: number }> {
  const { driver } = opts;
  const imageRef = opts.imageRef ?? sandboxImageTag;
  const id = await driver.createJob({
    role: 'cleanroom',
    image: imageRef(job.image),
    limits: opts.cleanroomLimits ?? DEFAULT_CLEANROOM_LIMITS,
    hardening: 'sandbox',
    ...common,
  });
  try {
    const copy = path.posix.normalize(job.copy);
    const writer = new ArchiveWriter({ mode: 'cleanroom', prefix: '', roots: [copy] });
    const produce = (async () => {
      try {
        await writer.addArchive(copy, await files.copyOut(copy));
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
        // Missing: the job runs in an empty directory and says so.
        await writer.ensureDir(copy);
      }
      writer.finalize();
    })().catch((err: Error) => {
      writer.pack.destroy(err);
      throw err;
    });
    const [p, c] = await Promise.allSettled([produce, driver.copyIn(id, '/', writer.stream())]);
    if (p.status === 'rejected') throw p.reason;
    if (c.status === 'rejected') throw c.reason;
    // The grader's own material: its hidden directory, and the pristine exercise directories it brings.
    await putGraderMaterial(driver, id, opts.exercise.dir, [
      ...(job.hidden ? [{ from: job.hidden, to: '' }] : []),
      ...job.bring.map((b) => ({ from: b.from, to: path.posix.normalize(b.to) })),
    ]);

    // gitHead: replace the copy with a fresh clone of its committed HEAD (the clean room is disposable, so git may
    // read the candidate's configuration here). A failing clone is the job's result, like any other failure.
    const prepare = job.gitHead
      ? 'tmp=$(mktemp -d /tmp/opslab-head.XXXXXX) && git -c safe.directory="*" clone -q --no-hardlinks -- "$OPSLAB_COPY" "$tmp/head" 2>&1 && rm -rf "$OPSLAB_COPY" && mv "$tmp/head" "$OPSLAB_COPY" || { echo "[opslab] the committed HEAD of $OPSLAB_COPY could not be cloned"; exit 1; }\n'
      : '';
    const script = `${prepare}cd "$OPSLAB_COPY" || exit 1\nexec timeout -k ${KILL_AFTER_SECONDS}s ${job.timeoutSeconds}s bash -lc "$OPSLAB_RUN" 2>&1\n`;
    const t0 = Date.now();
    // The candidate's code writes to the clean room's own layer: past the sandbox's disk quota the job is stopped.
    const disk = watchJobDisk(driver, id, opts.cleanroomDisk ?? { quotaBytes: 0, intervalMs: 0 });
    const r = await driver
      .execJob(id, ['bash', '-c', script], {
        env: { ...variant, OPSLAB_COPY: copy, OPSLAB_RUN: job.run },
        timeoutMs: (job.timeoutSeconds + KILL_AFTER_SECONDS) * 1000 + BACKSTOP_SLACK_MS,
        ...CLEANROOM_OUTPUT_CAPS,
      })
      .finally(() => disk.stop());
    const durationMs = Date.now() - t0;
    // `timeout` ends a job past its time with 124, or with 137 when it had to kill it.
    const code = r.exitCode ?? 124;
    const timedOut = r.timedOut || code === 124 || (code === 137 && durationMs >= job.timeoutSeconds * 1000);
    const { exitCode, output } = jobResult(r, {
      diskStoppedAt: disk.stoppedAt,
      quotaBytes: opts.cleanroomDisk?.quotaBytes ?? 0,
      timedOut,
      timeoutSeconds: job.timeoutSeconds,
    });
    return { exitCode, output, durationMs };
  } finally {
    await driver.remove(id).catch(() => undefined);
  }
}
