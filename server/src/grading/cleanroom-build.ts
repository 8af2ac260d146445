// A build job (exercise.yaml `cleanroom[].build`): the candidate's Dockerfile built, through the bounded build only
// (JobDriver.buildImage: FROM checked against the job's images, every RUN in a hardened container without
// network, one time limit, the sandbox's disk quota), and what the image really is handed to the checks:
// - the context is copied out of the sandbox through the clean-room sanitiser (as `copy` is) and re-rooted;
// - the Dockerfile is read by grading/dockerfile.ts: a refusal, a missing Dockerfile or a failed step is the
//   job's result (`ok: false` with the message), never an error of the grading;
// - the built image is read from the engine's export (cleanroom-layers.ts): its configuration, its layers with
//   the step that made each and their files, and the contents of the files the job's `inspect` globs name;
// - `run`, when given, runs in a job container of the built image (clean-room hardening, no network);
// - the image, its intermediate steps and every container are removed, whatever happened.
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { CleanroomSpec } from '../exercises/catalog.js';
import { sandboxImageTag } from '../images/index.js';
import type { ImageBuildStep } from '../sandbox/image-build-spec.js';
import { watchJobDisk } from '../sandbox/disk-watch.js';
import { ArchiveWriter } from './archive.js';
import { CLEANROOM_OUTPUT_CAPS, DEFAULT_CLEANROOM_LIMITS, jobResult, putGraderMaterial, type CleanroomOptions } from './cleanroom.js';
import { readImageExport, type BuildLayer, type ImageSummary } from './cleanroom-layers.js';
import { DockerfileError, parseDockerfile } from './dockerfile.js';
import type { FileSource } from './file-source.js';
import { MiB } from './limits.js';

/** Bytes of the build context's files; past it the build is refused. */
export const MAX_CONTEXT_BYTES = 32 * MiB;
/** Output of one RUN step kept in the build log. */
export const BUILD_STEP_OUTPUT_BYTES = 256 * 1024;
/** The build log kept (head and tail). */
export const BUILD_LOG_BYTES = MiB;
/** The Dockerfile read at most (the reader refuses a longer one). */
const MAX_DOCKERFILE_BYTES = 64 * 1024;
/** The exit code of a build job whose build failed (`run` did not run). */
export const BUILD_FAILED_EXIT_CODE = 1;

/** build.json: what the checks read. */
export interface BuildReport {
  ok: boolean;
  /** Why the build failed (the reader's or the build's message, with its Dockerfile line); null when it succeeded. */
  error: string | null;
  /** 'refused' (the reader or the build's own checks), 'failed', 'timeout', 'output', 'disk', 'context'. */
  reason: string | null;
  durationMs: number;
  /** Null when the build failed. */
  image: ImageSummary | null;
  layers: BuildLayer[];
  /** Each step as built (also when the build failed, up to the failing one). */
  steps: ImageBuildStep[];
  /** An `inspect` cap was reached: some matching contents are missing from layers/. */
  inspectTruncated: boolean;
}

export interface BuildJobResult {
  /** The run's exit code; without `run`, 0 when the build succeeded; BUILD_FAILED_EXIT_CODE when it failed. */
  exitCode: number;
  durationMs: number;
  /** The files the checks get, relative to /cleanroom/<id>/. */
  files: { name: string; content: string | Buffer }[];
}

class ContextProblem extends Error {}

export async function runBuildJob(
  opts: CleanroomOptions,
  files: FileSource,
  job: CleanroomSpec,
  variant: Record<string, string>,
  common: { labels: Record<string, string>; exerciseId: string; attemptId?: string },
): Promise<BuildJobResult> {
  const { driver } = opts;
  const build = job.build!;
  if (!driver.buildImage || !driver.removeImage || !driver.exportImage) {
    throw new Error(`clean-room job ${job.id} builds an image, and this installation's engine driver builds none`);
  }
  const imageRef = opts.imageRef ?? sandboxImageTag;
  const allowed = build.from.map(imageRef);
  const limits = opts.cleanroomLimits ?? DEFAULT_CLEANROOM_LIMITS;
  const t0 = Date.now();
  const failed = (reason: string, error: string, log: string, steps: ImageBuildStep[] = []): BuildJobResult => {
    const report: BuildReport = { ok: false, error, reason, durationMs: Date.now() - t0, image: null, layers: [], steps, inspectTruncated: false };
    return { exitCode: BUILD_FAILED_EXIT_CODE, durationMs: Date.now() - t0, files: [{ name: 'build.json', content: `${JSON.stringify(report, null, 2)}\n` }, { name: 'build.log', content: log }] };
  };

  let context: { tar: Buffer; dockerfile: Buffer | null };
  try {
    context = await copyContext(files, build.context, build.dockerfile);
  } catch (err) {
    if (!(err instanceof ContextProblem)) throw err;
    return failed('context', err.message, `${err.message}\n`);
  }
  const where = `${path.posix.join(build.context, build.dockerfile)}`;
  if (!context.dockerfile) return failed('context', `there is no Dockerfile at ${where}`, `there is no Dockerfile at ${where}\n`);
  let instructions;
  try {
    instructions = parseDockerfile(context.dockerfile.toString('utf8'), { allowedBaseImages: allowed }).instructions;
  } catch (err) {
    if (!(err instanceof DockerfileError)) throw err;
    return failed('refused', err.message, `${err.message}\n`);
  }

  const built = await driver.buildImage({
    instructions,
    context: context.tar,
    allowedBaseImages: allowed,
    limits,
    timeoutMs: job.timeoutSeconds * 1000,
    maxContextBytes: MAX_CONTEXT_BYTES + 8 * MiB,
    maxStepOutputBytes: BUILD_STEP_OUTPUT_BYTES,
    maxLogBytes: BUILD_LOG_BYTES,
    diskQuotaBytes: opts.cleanroomDisk?.quotaBytes ?? 0,
    labels: common.labels,
    exerciseId: common.exerciseId,
    ...(common.attemptId ? { attemptId: common.attemptId } : {}),
  });
  if (!built.ok) return failed(built.reason, built.message, built.log, built.history);
  try {
    // The base images' layers (by diff id): their files are not the candidate's, and take nothing of the caps.
    const baseLayers = new Set<string>();
    for (const ref of allowed) for (const id of (await driver.imageLayers?.(ref)) ?? []) baseLayers.add(id);
    const read = await readImageExport(await driver.exportImage(built.tag), instructions, build.inspect, baseLayers);
    const report: BuildReport = {
      ok: true,
      error: null,
      reason: null,
      durationMs: built.durationMs,
      image: read.image,
      layers: read.layers,
      steps: built.history,
      inspectTruncated: read.inspectTruncated,
    };
    const out: BuildJobResult['files'] = [
      { name: 'build.json', content: `${JSON.stringify(report, null, 2)}\n` },
      { name: 'build.log', content: built.log },
      ...read.inspected.map((f) => ({ name: `layers/${f.layer}${f.path}`, content: f.content })),
    ];
    let exitCode = 0;
    if (job.run) {
      const r = await runInImage(opts, built.tag, job, variant, common);
      exitCode = r.exitCode;
      out.push({ name: 'exit-code', content: `${r.exitCode}\n` }, { name: 'output.log', content: r.output }, { name: 'ms', content: `${r.durationMs}\n` });
    }
    return { exitCode, durationMs: Date.now() - t0, files: out };
  } finally {
    await driver.removeImage(built.tag).catch(() => undefined);
  }
}

/**
 * The context directory out of the sandbox, through the clean-room sanitiser, as a tar rooted at it (read into
 * memory up to MAX_CONTEXT_BYTES), with the Dockerfile's bytes when it is a file there.
 */
async function copyContext(files: FileSource, root: string, dockerfile: string): Promise<{ tar: Buffer; dockerfile: Buffer | null }> {
  const dir = path.posix.normalize(root).replace(/(.)\/+$/, '$1');
  const writer = new ArchiveWriter({ mode: 'cleanroom', prefix: '', roots: [dir], maxTotalBytes: MAX_CONTEXT_BYTES, maxDroppedBytes: 64 * MiB });
  let found = true;
  const produce = (async () => {
    try {
      await writer.addArchive(dir, await files.copyOut(dir));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      found = false;
    }
    writer.finalize();
  })().catch((err: Error) => {
    writer.pack.destroy(err);
    throw err;
  });
  const prefix = `${dir.replace(/^\/+/, '')}/`;
  const pack = tarStream.pack();
  const out: Buffer[] = [];
  const packed = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) out.push(c);
  })();
  let body: Buffer | null = null;
  const extract = tarStream.extract();
  const consume = (async () => {
    writer.stream().pipe(extract as unknown as NodeJS.WritableStream);
    for await (const raw of extract) {
      const entry = raw as unknown as Readable & { header: tarStream.Header };
      const name = entry.header.name.replace(/\/+$/, '');
      const chunks: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
      if (!name.startsWith(prefix)) continue;
      const rel = name.slice(prefix.length);
      const data = Buffer.concat(chunks);
      if (rel === dockerfile && entry.header.type === 'file') body = data.subarray(0, MAX_DOCKERFILE_BYTES + 1);
      await new Promise<void>((resolve, reject) => pack.entry({ ...entry.header, name: rel }, data, (err) => (err ? reject(err) : resolve())));
    }
    pack.finalize();
  })().catch((err: Error) => {
    // Neither side may wait for the other any more.
    writer.pack.destroy(err);
    pack.destroy(err);
    throw err;
  });
  const settled = await Promise.allSettled([produce, consume, packed]);
  const bad = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (bad) throw bad.reason;
  if (!found) throw new ContextProblem(`the build context ${dir} is not in the sandbox`);
  if (writer.truncated.length > 0) throw new ContextProblem(`the build context ${dir} holds more than ${MAX_CONTEXT_BYTES / MiB} MB of files`);
  return { tar: Buffer.concat(out), dockerfile: body };
}

/** The job's `run` in a container of the built image: its user, cwd /, the clean-room limits, no network. */
async function runInImage(
  opts: CleanroomOptions,
  image: string,
  job: CleanroomSpec,
  variant: Record<string, string>,
  common: { labels: Record<string, string>; exerciseId: string; attemptId?: string },
): Promise<{ exitCode: number; output: Buffer; durationMs: number }> {
  const { driver } = opts;
  const t0 = Date.now();
  let id: string;
  try {
    id = await driver.createJob({ role: 'cleanroom', image, limits: opts.cleanroomLimits ?? DEFAULT_CLEANROOM_LIMITS, hardening: 'sandbox', ...common });
  } catch (err) {
    // An image that cannot idle (no `sleep`: a scratch image) is the candidate's, and the job's result.
    return { exitCode: 127, output: Buffer.from(`[opslab] the built image could not be started: ${(err as Error).message}\n`), durationMs: Date.now() - t0 };
  }
  try {
    if (job.hidden) await putGraderMaterial(driver, id, opts.exercise.dir, [{ from: job.hidden, to: '' }]);
    const disk = watchJobDisk(driver, id, opts.cleanroomDisk ?? { quotaBytes: 0, intervalMs: 0 });
    const started = Date.now();
    const r = await driver
      .execJob(id, ['/bin/sh', '-c', job.run], {
        workdir: '/',
        env: variant,
        // No `timeout` is assumed in the candidate's image: the exec is abandoned at the limit and the container removed.
        timeoutMs: job.timeoutSeconds * 1000,
        ...CLEANROOM_OUTPUT_CAPS,
      })
      .catch((err: Error) => ({ exitCode: 126 as number | null, stdout: '', stderr: `[opslab] the run could not be started in the built image: ${err.message}\n`, timedOut: false, truncated: false }))
      .finally(() => disk.stop());
    const durationMs = Date.now() - started;
    const { exitCode, output } = jobResult(r, {
      diskStoppedAt: disk.stoppedAt,
      quotaBytes: opts.cleanroomDisk?.quotaBytes ?? 0,
      timedOut: r.timedOut || r.exitCode === null,
      timeoutSeconds: job.timeoutSeconds,
    });
    return { exitCode, output, durationMs };
  } finally {
    await driver.remove(id).catch(() => undefined);
  }
}
