import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildImageFromDir, removeIfUntagged } from '../../server/src/images/engine.js';
import type { ImageBuildOptions, ImageEngine, ImageInfo } from '../../server/src/sandbox/image-engine.js';
import { readProgress, splitTag } from '../../server/src/sandbox/drivers/docker/image-engine.js';

/** An engine that has the images it is given and builds by replaying output lines. */
function fakeEngine(images: Record<string, ImageInfo>, buildOutput: string[] = [], buildError?: Error) {
  const removed: string[] = [];
  const engine: ImageEngine = {
    inspectImage: async (ref) => images[ref] ?? null,
    pullImage: async () => {
      throw new Error('no registry');
    },
    importImage: async () => undefined,
    buildImage: async (_dir: string, opts: ImageBuildOptions) => {
      for (const line of buildOutput) opts.onOutput(line);
      if (buildError) throw buildError;
      images[opts.tag] = { id: 'sha256:built', labels: opts.labels, tags: [opts.tag] };
      return 'sha256:built';
    },
    removeImage: async (ref) => {
      removed.push(ref);
    },
    runOnce: async () => ({ exitCode: 0, output: '' }),
  };
  return { engine, removed };
}

describe('image builders on the engine interface (no engine)', () => {
  it('logs the build steps only and returns the built image id', async () => {
    const { engine } = fakeEngine({}, ['Step 1/2 : FROM debian:bookworm-slim', ' ---> abc', 'Step 2/2 : RUN true']);
    const log: string[] = [];
    const id = await buildImageFromDir(engine, '/nowhere', 'opslab/x:latest', { log: (l) => log.push(l), labels: { a: 'b' } });
    expect(id).toBe('sha256:built');
    expect(log).toEqual(['  Step 1/2 : FROM debian:bookworm-slim', '  Step 2/2 : RUN true']);
  });

  it('a failed build says which image, the engine error and the last lines of output', async () => {
    const { engine } = fakeEngine({}, ['Step 1/1 : RUN false', 'boom'], new Error('exit code 1'));
    await expect(buildImageFromDir(engine, '/nowhere', 'opslab/x:latest', { log: () => undefined })).rejects.toThrow(
      'building opslab/x:latest failed: exit code 1\n--- last build output ---\nStep 1/1 : RUN false\nboom',
    );
  });

  it('removes an image a rebuild left untagged, and only that', async () => {
    const { engine, removed } = fakeEngine({
      old: { id: 'old', labels: {}, tags: [] },
      kept: { id: 'kept', labels: {}, tags: ['opslab/x:latest'] },
    });
    await removeIfUntagged(engine, 'old');
    await removeIfUntagged(engine, 'kept');
    await removeIfUntagged(engine, 'gone');
    expect(removed).toEqual(['old']);
  });
});

describe('docker image engine helpers (no engine)', () => {
  it('splits a reference into repository and tag', () => {
    expect(splitTag('debian:bookworm-slim')).toEqual(['debian', 'bookworm-slim']);
    expect(splitTag('opslab/sandbox-base')).toEqual(['opslab/sandbox-base', 'latest']);
    expect(splitTag('registry.local:5000/x')).toEqual(['registry.local:5000/x', 'latest']);
    expect(splitTag('registry.local:5000/x:1')).toEqual(['registry.local:5000/x', '1']);
  });

  it('reads a progress stream, and rejects with the engine error it carries', async () => {
    const lines = (...l: string[]) => Readable.from([l.join('\n')]);
    const events = await readProgress(lines('{"stream":"Step 1/1"}', 'plain text', '{"aux":{"ID":"sha256:1"}}'));
    expect(events).toEqual([{ stream: 'Step 1/1' }, { stream: 'plain text\n' }, { aux: { ID: 'sha256:1' } }]);
    await expect(readProgress(lines('{"status":"x"}', '{"errorDetail":{"message":"no space left"}}'))).rejects.toThrow(
      'no space left',
    );
  });
});
