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
  const mask = opts.readOnlyForOthers ? 0o755 : 0o777;
  const join = (rel: string) => (opts.prefix ? path.posix.join(opts.prefix, rel) : rel);
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
  try {
    if (opts.prefix) {
      const parts = opts.prefix.split('/').filter(Boolean);
      for (let i = 1; i <= parts.length; i++) {
        pack.entry({ name: parts.slice(0, i).join('/'), type: 'directory', mode: 0o755, uid, gid });
      }
    }
    if (fs.existsSync(dir)) walk('');
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
