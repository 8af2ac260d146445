// The files a bounded image build copies in: a build context (a tar the caller gives, or an archive of an earlier
// stage) read into memory up to a cap, and the tar a COPY puts into a build step. Nothing here touches the host's
// filesystem: a link in the context stays a link (never followed), an entry with `..` or one lying under a link is
// refused, and the only bytes a COPY can carry are the context's own.
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';

/** A build the caller must be told was refused for its input (not an engine failure). */
export class BuildRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildRefusal';
  }
}

export interface ContextEntry {
  /** Relative, normalised (`a/b`), never `..`. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  body: Buffer;
  linkname: string;
}

export type BuildContext = Map<string, ContextEntry>;

/** Reads a tar (a buffer, or a stream read up to the cap) into a context. */
export async function readContext(input: Readable | Buffer, maxBytes: number, what = 'the build context'): Promise<BuildContext> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (Buffer.isBuffer(input)) {
    size = input.length;
    chunks.push(input);
  } else {
    if (typeof (input as Partial<Readable> | undefined)?.pipe !== 'function') throw new TypeError(`${what} must be a tar in a Buffer or a stream`);
    for await (const c of input as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > maxBytes) break;
      chunks.push(c);
    }
    input.destroy();
  }
  if (size > maxBytes) throw new BuildRefusal(`${what} is over ${maxBytes} bytes`);
  const ctx: BuildContext = new Map();
  const extract = tarStream.extract();
  Readable.from([Buffer.concat(chunks)]).pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const parts: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) parts.push(c);
      const name = normalizeEntry(h.name, what);
      if (name === '') continue;
      const under = linkAbove(ctx, name);
      if (under) throw new BuildRefusal(`${what}: ${JSON.stringify(h.name)} lies under the link ${JSON.stringify(under)}`);
      const mode = (h.mode ?? 0o644) & 0o7777;
      if (h.type === 'file' || h.type === 'contiguous-file') {
        addParents(ctx, name);
        ctx.set(name, { path: name, type: 'file', mode, body: Buffer.concat(parts), linkname: '' });
      } else if (h.type === 'directory') {
        addParents(ctx, name);
        ctx.set(name, { path: name, type: 'directory', mode, body: Buffer.alloc(0), linkname: '' });
      } else if (h.type === 'symlink') {
        addParents(ctx, name);
        ctx.set(name, { path: name, type: 'symlink', mode: 0o777, body: Buffer.alloc(0), linkname: h.linkname ?? '' });
      } else if (h.type === 'link') {
        // A hard link: a copy of its target, which must be a file of the context itself.
        const target = ctx.get(normalizeEntry(h.linkname ?? '', what));
        if (!target || target.type !== 'file') throw new BuildRefusal(`${what}: the hard link ${JSON.stringify(h.name)} points outside it`);
        addParents(ctx, name);
        ctx.set(name, { ...target, path: name });
      }
      // Devices, pipes and sockets are left out.
    }
  } catch (err) {
    if (err instanceof BuildRefusal) throw err;
    throw new BuildRefusal(`${what} is not a readable tar: ${(err as Error).message}`);
  }
  return ctx;
}

function normalizeEntry(name: string, what: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new BuildRefusal(`${what}: the entry ${JSON.stringify(name)} has a ".." in its path`);
  return parts.join('/');
}

function addParents(ctx: BuildContext, name: string): void {
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    if (!ctx.has(p)) ctx.set(p, { path: p, type: 'directory', mode: 0o755, body: Buffer.alloc(0), linkname: '' });
  }
}

/** The nearest proper ancestor of `name` that is a link in the context, if any. */
function linkAbove(ctx: BuildContext, name: string): string | null {
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    if (ctx.get(p)?.type === 'symlink') return p;
  }
  return null;
}

function globRegex(component: string): RegExp {
  let re = '';
  for (let i = 0; i < component.length; i++) {
    const c = component[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = component.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = component.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The context entries a COPY source names: one path, or what a `*`, `?` or `[...]` pattern matches (sorted). */
export function resolveSource(ctx: BuildContext, source: string, what = 'the build context'): ContextEntry[] {
  const rel = normalizeEntry(source, what);
  if (rel === '') return [{ path: '', type: 'directory', mode: 0o755, body: Buffer.alloc(0), linkname: '' }];
  const parts = rel.split('/');
  if (!/[*?[]/.test(rel)) {
    const e = ctx.get(rel);
    if (!e) {
      const under = linkAbove(ctx, rel);
      throw new BuildRefusal(`${JSON.stringify(source)} is not in ${what}${under ? ` (${JSON.stringify(under)} is a link, and links are not followed)` : ''}`);
    }
    return [e];
  }
  const res = parts.map(globRegex);
  const found = [...ctx.values()]
    .filter((e) => {
      const p = e.path.split('/');
      return p.length === res.length && p.every((c, i) => res[i]!.test(c)) && !linkAbove(ctx, e.path);
    })
    .sort((a, b) => a.path.localeCompare(b.path));
  if (found.length === 0) throw new BuildRefusal(`${JSON.stringify(source)} matches nothing in ${what}`);
  return found;
}

export interface CopyItem {
  /** Absolute path in the image, without its leading `/`. */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  body: Buffer;
  linkname: string;
}

/**
 * What a COPY of `sources` to `dest` (absolute) puts where: a directory's contents go under `dest`; a file or a link
 * goes to `dest` itself, or into it when `destIsDir` (it ends with `/`, exists as a directory, or several sources
 * are copied).
 */
export function copyItems(ctx: BuildContext, sources: ContextEntry[], dest: string, destIsDir: boolean): CopyItem[] {
  const items: CopyItem[] = [];
  const root = dest.replace(/^\/+/, '');
  const join = (...p: string[]) => {
    const j = path.posix.join(...p).replace(/^\/+/, '').replace(/\/+$/, '');
    return j === '.' ? '' : j;
  };
  for (const src of sources) {
    if (src.type === 'directory') {
      const prefix = src.path === '' ? '' : `${src.path}/`;
      for (const e of ctx.values()) {
        if (!e.path.startsWith(prefix) || e.path === src.path) continue;
        items.push({ name: join(root, e.path.slice(prefix.length)), type: e.type, mode: e.mode, body: e.body, linkname: e.linkname });
      }
    } else {
      const name = destIsDir ? join(root, path.posix.basename(src.path)) : join(root);
      if (name === '') throw new BuildRefusal(`cannot copy the file ${JSON.stringify(src.path)} over /`);
      items.push({ name, type: src.type, mode: src.mode, body: src.body, linkname: src.linkname });
    }
  }
  // Parents before children (a directory's own mode is set by its entry, missing parents are made 0755).
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The tar of a COPY's items, owned by `uid:gid`, their modes replaced by `chmod` when given. */
export function packItems(items: CopyItem[], owner: { uid: number; gid: number }, chmod: number | null): Readable {
  const pack = tarStream.pack();
  const mtime = new Date();
  for (const it of items) {
    const mode = it.type === 'symlink' ? 0o777 : (chmod ?? it.mode);
    const header = { name: it.name, mode, uid: owner.uid, gid: owner.gid, mtime };
    if (it.type === 'file') pack.entry({ ...header, type: 'file', size: it.body.length }, it.body);
    else if (it.type === 'directory') pack.entry({ ...header, type: 'directory' });
    else pack.entry({ ...header, type: 'symlink', linkname: it.linkname });
  }
  pack.finalize();
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

/** Whether a file's bytes are an archive the engine's builder would extract on ADD (tar, gzip, bzip2, xz, zstd). */
export function looksLikeArchive(body: Buffer): boolean {
  const magic = (bytes: number[]) => bytes.every((b, i) => body[i] === b);
  if (magic([0x1f, 0x8b]) || magic([0x42, 0x5a, 0x68]) || magic([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) || magic([0x28, 0xb5, 0x2f, 0xfd])) return true;
  return body.length >= 262 && body.subarray(257, 262).toString('latin1') === 'ustar';
}
