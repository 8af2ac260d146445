import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { JobDriver } from '../sandbox/sandbox-driver.js';

const posix = path.posix;

/**
 * Where a grading reads the candidate's files from: `copyOut(path)` gives a tar of one sandbox path, named as the
 * engine's archive API names it (`<basename>/...`), or rejects with `statusCode: 404` when the path is absent.
 */
export interface FileSource {
  copyOut(sandboxPath: string): Promise<Readable>;
}

/** The live sandbox, through the engine's archive API. */
export function sandboxFiles(driver: JobDriver, sandboxId: string): FileSource {
  return { copyOut: (p) => driver.copyOut(sandboxId, p) };
}

/**
 * A stored snapshot (a tar whose entries are named by their sandbox path without the leading slash, as
 * snapshotSandbox writes it): grading from it is reproducible, and needs no sandbox at all. Read from disk as a
 * stream, never whole.
 */
export function snapshotFiles(file: string): FileSource {
  return {
    async copyOut(sandboxPath: string): Promise<Readable> {
      const rel = posix.normalize(sandboxPath).replace(/^\/+/, '').replace(/\/+$/, '');
      if (!(await contains(file, rel))) {
        throw Object.assign(new Error(`${sandboxPath} is not in the snapshot`), { statusCode: 404 });
      }
      return subtree(file, rel);
    },
  };
}

const entryName = (name: string) => name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
const under = (name: string, rel: string) => rel === '' || name === rel || name.startsWith(`${rel}/`);

/** Whether the snapshot has `rel` or anything below it (stops reading at the first match). */
async function contains(file: string, rel: string): Promise<boolean> {
  const extract = tarStream.extract();
  const input = fs.createReadStream(file);
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      const found = under(entryName(entry.header.name), rel);
      entry.resume();
      if (found) return true;
    }
    return false;
  } finally {
    input.destroy();
    extract.destroy();
  }
}

/** The entries at and below `rel`, renamed relative to its parent directory, as the archive API would. */
function subtree(file: string, rel: string): Readable {
  const parent = posix.dirname(rel) === '.' ? '' : `${posix.dirname(rel)}/`;
  const rebase = (name: string) => entryName(name).slice(parent.length);
  const pack = tarStream.pack();
  const extract = tarStream.extract();
  const input = fs.createReadStream(file);
  input.on('error', (err) => extract.destroy(err));
  extract.on('error', (err) => pack.destroy(err));
  extract.on('entry', (header, stream, next) => {
    const name = entryName(header.name);
    if (!under(name, rel) || name === '.opslab-snapshot-truncated') {
      stream.on('end', next);
      stream.resume();
      return;
    }
    const out = { ...header, name: rebase(name), ...(header.type === 'link' && header.linkname ? { linkname: rebase(header.linkname) } : {}) };
    const sink = pack.entry(out, (err) => (err ? pack.destroy(err) : next()));
    stream.pipe(sink as unknown as NodeJS.WritableStream);
  });
  extract.on('finish', () => pack.finalize());
  input.pipe(extract as unknown as NodeJS.WritableStream);
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}
