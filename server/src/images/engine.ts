// Small helpers shared by the image builders, on the engine's image operations (server/src/sandbox/image-engine.ts).
import type { ImageEngine } from '../sandbox/image-engine.js';

export type Log = (line: string) => void;

/**
 * Build a directory as `tag` (host networking, so that apt-get reaches the mirror).
 * Only the step lines go to `log`; a failure carries the engine's error and the last lines of output.
 */
export async function buildImageFromDir(
  engine: ImageEngine,
  dir: string,
  tag: string,
  opts: { log: Log; labels?: Record<string, string>; dockerfile?: string },
): Promise<string> {
  const tail: string[] = [];
  let imageId: string;
  try {
    imageId = await engine.buildImage(dir, {
      tag,
      dockerfile: opts.dockerfile ?? 'Dockerfile',
      labels: opts.labels ?? {},
      onOutput: (line) => {
        tail.push(line);
        if (tail.length > 25) tail.shift();
        if (/^Step \d+\/\d+ : /.test(line)) opts.log(`  ${shorten(line)}`);
      },
    });
  } catch (err) {
    const detail = tail.length ? `\n--- last build output ---\n${tail.join('\n')}` : '';
    throw new Error(`building ${tag} failed: ${(err as Error).message}${detail}`);
  }
  const info = await engine.inspectImage(tag);
  if (!info) throw new Error(`building ${tag} finished but the engine has no such image`);
  return info.id || imageId;
}

/** Remove an image that a rebuild left without a tag; keep it when it is still in use. */
export async function removeIfUntagged(engine: ImageEngine, id: string): Promise<void> {
  try {
    const info = await engine.inspectImage(id);
    if (!info || info.tags.length > 0) return;
    await engine.removeImage(id);
  } catch {
    // in use by a container, or already gone: leave it
  }
}

function shorten(line: string): string {
  const one = line.replace(/\s+/g, ' ');
  return one.length > 140 ? `${one.slice(0, 137)}...` : one;
}
