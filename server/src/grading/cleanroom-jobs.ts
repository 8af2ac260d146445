// A grading's clean-room jobs: all started at once, each one's results put into the grader as it ends, so that a
// check can run as soon as the jobs it reads (`needs`) have ended.
import type { CleanroomSpec } from '../exercises/catalog.js';
import { packFiles } from '../local-tar.js';
import { runCleanroom, type CleanroomOptions } from './cleanroom.js';
import { runBuildJob } from './cleanroom-build.js';
import type { FileSource } from './file-source.js';

/** What a grading records of one job. */
export interface CleanroomResult {
  id: string;
  exitCode: number;
  durationMs: number;
}

/**
 * One clean-room job of a grading, run to its end: a build job hands the checks its own files (build.json,
 * build.log, layers/, and the run's), a plain one its exit code, output and time. They go into the grader under
 * /cleanroom/<id>/.
 */
export async function runJob(
  opts: CleanroomOptions & { log?: (message: string, data?: Record<string, unknown>) => void },
  files: FileSource,
  job: CleanroomSpec,
  env: Record<string, string>,
  common: { labels: Record<string, string>; exerciseId: string; attemptId?: string },
  graderId: string,
): Promise<CleanroomResult> {
  const log = opts.log ?? (() => undefined);
  let out: { name: string; content: string | Buffer }[];
  let result: CleanroomResult;
  if (job.build) {
    const b = await runBuildJob(opts, files, job, env, common);
    log('clean-room build job finished', { job: job.id, exitCode: b.exitCode, ms: b.durationMs });
    result = { id: job.id, exitCode: b.exitCode, durationMs: b.durationMs };
    out = b.files.map((f) => ({ name: `cleanroom/${job.id}/${f.name}`, content: f.content }));
  } else {
    const r = await runCleanroom(opts, files, job, env, common);
    log('clean-room job finished', { job: job.id, exitCode: r.exitCode, ms: r.durationMs });
    result = { id: job.id, exitCode: r.exitCode, durationMs: r.durationMs };
    out = [
      { name: `cleanroom/${job.id}/exit-code`, content: `${r.exitCode}\n` },
      { name: `cleanroom/${job.id}/output.log`, content: r.output },
      { name: `cleanroom/${job.id}/ms`, content: `${r.durationMs}\n` },
    ];
  }
  if (out.length) await opts.driver.copyIn(graderId, '/', packFiles(out));
  return result;
}

/** A grading's clean-room jobs, all started at once: which have ended, the first failure, waiting for some. */
export class JobSet {
  readonly ids: string[];
  private readonly done = new Map<string, Promise<void>>();
  private readonly finished = new Set<string>();
  private error: unknown = null;
  private readonly started = Date.now();
  durationMs = 0;

  constructor(jobs: { id: string; run: () => Promise<void> }[]) {
    this.ids = jobs.map((j) => j.id);
    for (const job of jobs) {
      this.done.set(
        job.id,
        job.run().then(
          () => this.end(job.id),
          (err: unknown) => {
            this.error ??= err;
            this.end(job.id);
          },
        ),
      );
    }
  }

  private end(id: string): void {
    this.finished.add(id);
    this.durationMs = Date.now() - this.started;
  }

  ended(id: string): boolean {
    return this.finished.has(id);
  }

  failure(): unknown {
    return this.error;
  }

  /** Until one of `ids` that has not ended yet ends. */
  async next(ids: string[]): Promise<void> {
    const waiting = ids.filter((id) => !this.finished.has(id)).map((id) => this.done.get(id)!);
    if (waiting.length) await Promise.race(waiting);
  }

  /** Until each of `ids` has ended, whatever happened to it. */
  async until(ids: string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.done.get(id)));
  }

  /** Until every job has ended, whatever happened to each. */
  all(): Promise<void> {
    return this.until(this.ids);
  }

  /** Until every job has ended; then the first failure, if any, is thrown. */
  async settled(): Promise<void> {
    await this.all();
    if (this.error) throw this.error;
  }
}
