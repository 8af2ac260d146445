// Tars of local files and directories, to copy into containers through the engine (the exercise's files, setup
// scripts). Uses no engine and nothing else of the server, so drivers, exercises and grading can all build on it.
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';

export interface PackDirOptions {
  /** Name prefix of every entry ('' = the directory's own contents at the top). */
  prefix: string;
  /** Relative paths (posix) to leave out; a directory left out takes its contents with it. */
  exclude?: (rel: string) => boolean;
  uid?: number;
  gid?: number;
  /** Strip write permission for group and others (files the runner owns and the checks only read). */
  readOnlyForOthers?: boolean;
}

export interface TarFile {
  name: string;
  content: string | Buffer;
  mode?: number;
}

/**
 * A tar of a local directory (the exercise's own files: small, trusted, read into memory). Symbolic links are
 * kept as links; other special files are left out.
 */
export function packDir(dir: string, opts: PackDirOptions, extra: TarFile[] = []): Readable {
  const pack = tarStream.pack();
  const uid = opts.uid ?? 0;
  const gid = opts.gid ?? 0;
  const join = (rel: string) => (opts.prefix ? path.posix.join(opts.prefix, rel) : rel);
  try {
    if (opts.prefix) {
      const parts = opts.prefix.split('/').filter(Boolean);
      for (let i = 1; i <= parts.length; i++) {
        pack.entry({ name: parts.slice(0, i).join('/'), type: 'directory', mode: 0o755, uid, gid });
      }
    }
    addDir(pack, dir, join, opts);
    for (const f of extra) {
      const body = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content);
      pack.entry({ name: f.name, type: 'file', mode: f.mode ?? 0o644, uid, gid, mtime: new Date() }, body);
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
  }
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

/** One local directory of a tree (packTree): its contents go to `at`, an absolute path in the container. */
export interface TreePart {
  dir: string;
  at: string;
  /** Relative paths (posix) to leave out; a directory left out takes its contents with it. */
  exclude?: (rel: string) => boolean;
  /**
   * Add an entry for `at` itself (root's, 0755): for a directory that does not exist yet. The engine creates its
   * missing parents the same way and leaves existing ones as they are; an entry for an existing directory would
   * reset its mode and owner, so none is added for one.
   */
  makeDir?: boolean;
}

/**
 * One tar, to extract at the container's `/`, carrying several local directories each to its own place: one
 * engine call instead of one per directory (and one per directory to create). Entries are root's (uid and gid 0).
 */
export function packTree(parts: TreePart[]): Readable {
  const pack = tarStream.pack();
  try {
    for (const part of parts) {
      const base = path.posix.relative('/', path.posix.resolve('/', part.at));
      const join = (rel: string) => (base ? path.posix.join(base, rel) : rel);
      if (part.makeDir && base) pack.entry({ name: base, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date() });
      addDir(pack, part.dir, join, { exclude: part.exclude });
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
  }
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

/** Adds the contents of a local directory (nothing when it does not exist), each entry named by `join(rel)`. */
function addDir(
  pack: tarStream.Pack,
  dir: string,
  join: (rel: string) => string,
  opts: Pick<PackDirOptions, 'exclude' | 'uid' | 'gid' | 'readOnlyForOthers'>,
): void {
  const uid = opts.uid ?? 0;
  const gid = opts.gid ?? 0;
  const mask = opts.readOnlyForOthers ? 0o755 : 0o777;
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    for (const entry of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const childRel = rel ? path.posix.join(rel, entry.name) : entry.name;
      if (opts.exclude?.(childRel)) continue;
      const childAbs = path.join(dir, childRel);
      const st = fs.lstatSync(childAbs);
      const common = { name: join(childRel), uid, gid, mtime: st.mtime, mode: st.mode & 0o7777 & mask };
      if (st.isDirectory()) {
        pack.entry({ ...common, type: 'directory' });
        walk(childRel);
      } else if (st.isSymbolicLink()) {
        pack.entry({ ...common, type: 'symlink', linkname: fs.readlinkSync(childAbs), mode: 0o777 });
      } else if (st.isFile()) {
        pack.entry({ ...common, type: 'file' }, fs.readFileSync(childAbs));
      }
    }
  };
  if (fs.existsSync(dir)) walk('');
}

/** A tar of in-memory files (parents created as directories). */
export function packFiles(files: TarFile[], opts: { uid?: number; gid?: number } = {}): Readable {
  const pack = tarStream.pack();
  const uid = opts.uid ?? 0;
  const gid = opts.gid ?? 0;
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.name.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (dirs.has(d)) continue;
      dirs.add(d);
      pack.entry({ name: d, type: 'directory', mode: 0o755, uid, gid, mtime: new Date() });
    }
    const body = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content);
    pack.entry({ name: f.name, type: 'file', mode: f.mode ?? 0o644, uid, gid, mtime: new Date() }, body);
  }
  pack.finalize();
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}
