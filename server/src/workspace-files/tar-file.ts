import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { FileEntry, FileEntryType } from '../../../contract/files.js';
import type { SandboxDriver } from '../sandbox/sandbox-driver.js';

const posix = path.posix;

type Entry = Readable & { header: tarStream.Header };

/**
 * Bytes a tree listing may read from the engine and drop (the bodies of the files it lists). The archive API streams
 * every byte of every file, and a sparse file costs the candidate nothing: past this the listing stops and says so.
 */
export const TREE_READ_BUDGET_BYTES = 64 * 1024 * 1024;

function entryType(type: tarStream.Header['type']): FileEntryType {
  if (type === 'file' || type === 'contiguous-file') return 'file';
  if (type === 'directory') return 'directory';
  if (type === 'symlink') return 'symlink';
  // Hard links, devices, fifos: listed, never opened.
  return 'other';
}

/**
 * Reads a tar stream entry by entry; `onEntry` returns false to stop, or calls `abandon` (in the middle of a body):
 * either way the rest of the archive is abandoned, its stream destroyed.
 */
export function walk(
  archive: Readable,
  onEntry: (header: tarStream.Header, body: Entry, abandon: () => void) => Promise<boolean>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const extract = tarStream.extract();
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      archive.unpipe(extract);
      archive.destroy();
      extract.destroy();
      if (err) reject(err);
      else resolve();
    };
    extract.on('entry', (header, stream, next) => {
      onEntry(header, Object.assign(stream as unknown as Readable, { header }), () => finish())
        .then((more) => {
          if (!more) finish();
          else next();
        })
        .catch((err: Error) => finish(err));
    });
    extract.on('finish', () => finish());
    extract.on('error', (err: Error) => finish(err));
    archive.on('error', (err: Error) => finish(err));
    archive.pipe(extract);
  });
}

/** Reads at most `max` bytes of an entry's body, draining the rest; `over` says whether there was more. */
export async function readBody(body: Readable, max: number): Promise<{ bytes: Buffer; over: boolean; dropped: number }> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let dropped = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = max - kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      chunks.push(part);
      kept += part.length;
      dropped += chunk.length - part.length;
    } else {
      dropped += chunk.length;
    }
  }
  return { bytes: Buffer.concat(chunks), over: dropped > 0, dropped };
}

export interface TreeListing {
  entries: FileEntry[];
  truncated: boolean;
}

/**
 * The entries under `root` in the sandbox, from the engine's archive of it (links stay links: nothing is followed),
 * at most `maxEntries`, `maxDepth` levels deep. A root that is missing lists nothing.
 */
export async function listTree(
  driver: Pick<SandboxDriver, 'copyOut'>,
  sandboxId: string,
  root: string,
  limits: { maxEntries: number; maxDepth: number; readBudgetBytes?: number },
): Promise<TreeListing> {
  const entries: FileEntry[] = [];
  let truncated = false;
  let budget = limits.readBudgetBytes ?? TREE_READ_BUDGET_BYTES;
  const archive = await driver.copyOut(sandboxId, root);
  // The archive of /root/work names its entries work/..., work/a/b: rebase them on the root's parent.
  const parent = posix.dirname(root);
  await walk(archive, async (header, body, abandon) => {
    const name = header.name.replace(/\/+$/, '');
    const full = posix.join(parent, name);
    const relative = posix.relative(root, full);
    const depth = relative === '' ? 0 : relative.split('/').length;
    if (relative !== '' && !relative.startsWith('..')) {
      if (depth > limits.maxDepth) truncated = true;
      else if (entries.length >= limits.maxEntries) {
        truncated = true;
        body.resume();
        return false;
      } else {
        const type = entryType(header.type);
        entries.push({
          path: full,
          type,
          size: type === 'file' ? (header.size ?? 0) : 0,
          ...(type === 'symlink' && header.linkname ? { linkTarget: header.linkname } : {}),
        });
      }
    }
    // The body is read and dropped, within the budget: a sparse terabyte is abandoned, not streamed.
    for await (const chunk of body as AsyncIterable<Buffer>) {
      budget -= chunk.length;
      if (budget < 0) {
        truncated = true;
        abandon();
        return false;
      }
    }
    return true;
  });
  return { entries, truncated };
}

export interface TarFile {
  type: FileEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkTarget: string | null;
  /** The body, when it is a file no larger than the limit; null otherwise. */
  bytes: Buffer | null;
}

/**
 * The single entry at `filePath` (not followed when it is a link), with its body when it is a regular file of at
 * most `maxBytes`; null when nothing is there.
 */
export async function readTarFile(
  driver: Pick<SandboxDriver, 'copyOut'>,
  sandboxId: string,
  filePath: string,
  maxBytes: number,
): Promise<TarFile | null> {
  let archive: Readable;
  try {
    archive = await driver.copyOut(sandboxId, filePath);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
  let found: TarFile | null = null;
  await walk(archive, async (header, body) => {
    const type = entryType(header.type);
    const file: TarFile = {
      type,
      mode: (header.mode ?? 0o644) & 0o7777,
      uid: header.uid ?? 0,
      gid: header.gid ?? 0,
      size: header.size ?? 0,
      linkTarget: header.linkname ?? null,
      bytes: null,
    };
    if (type === 'file' && file.size <= maxBytes) {
      const { bytes, over } = await readBody(body, maxBytes);
      if (!over) file.bytes = bytes;
    } else {
      body.resume();
    }
    found = file;
    return false;
  });
  return found;
}

/** A tar holding one regular file named `name`. */
export function packFile(name: string, bytes: Buffer, owner: { mode: number; uid: number; gid: number }): Readable {
  const pack = tarStream.pack();
  pack.entry({ name, type: 'file', size: bytes.length, mode: owner.mode, uid: owner.uid, gid: owner.gid, mtime: new Date() }, bytes);
  pack.finalize();
  return pack as unknown as Readable;
}
