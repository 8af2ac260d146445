import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { gitRole, sanitiseGitFile } from './git-copy.js';

const posix = path.posix;

export const MiB = 1024 * 1024;
/** Files larger than this are cut to it and listed in /sandbox/.opslab-truncated (the contract's 10 MiB). */
export const MAX_FILE_BYTES = 10 * MiB;
/** All collected files together: beyond this every further file is copied empty and listed as truncated. */
export const MAX_TOTAL_BYTES = 512 * MiB;

/** Entries in one copy: beyond this the rest is left out (and said so in the truncated list). */
export const MAX_ENTRIES = 200_000;

/**
 * Bytes a copy may read from the engine's archive API and not keep (the rest of cut files, entries left out). The
 * archive API streams every byte of a file, and a sparse file (`truncate -s 1T`) costs the candidate nothing:
 * without this bound those bytes would have to be read all the same, for hours. Past it the copy stops where it
 * is, and what follows is left out (and said so).
 */
export const READ_ALLOWANCE_BYTES = 256 * MiB;

/** The reading stopped: the archive being read is abandoned, the copy keeps what it has. */
class ReadLimitReached extends Error {}

/** The uid/gid the checks run as in the grader (user `grader` in graders/Dockerfile). */
export const GRADER_UID = 10001;

/**
 * How entries are rewritten:
 * - 'grader': the contract's rules for /sandbox (links that leave the copy become empty files and are listed, links
 *   inside become relative, specials dropped, big files cut, git configuration reduced to inert keys, everything
 *   owned by the grader user);
 * - 'cleanroom': specials dropped, links kept as they are (the clean room is a disposable copy of a pristine image);
 * - 'snapshot': like 'cleanroom', for reading in Node only (nothing is ever extracted).
 */
export type ArchiveMode = 'grader' | 'cleanroom' | 'snapshot';

export interface ArchiveWriterOptions {
  mode: ArchiveMode;
  /** Output names are `<prefix><sandbox path>`, e.g. prefix 'sandbox' puts /root/work at sandbox/root/work. */
  prefix: string;
  /** The collected sandbox paths: a link is "inside the copy" when it resolves under one of them. */
  roots: string[];
  maxFileBytes?: number;
  maxTotalBytes?: number;
  /** Bytes read from the engine and not kept, over every archive: default READ_ALLOWANCE_BYTES. */
  maxDroppedBytes?: number;
}

type Header = Partial<tarStream.Header> & { name: string };
type Entry = Readable & { header: tarStream.Header };
/** The writable side tar-stream gives for an entry's body (a streamx stream). */
interface Sink {
  write(chunk: Buffer): boolean;
  end(data?: unknown): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

interface Emitted {
  type: 'file' | 'directory' | 'symlink' | 'link';
}

/**
 * Builds one tar from the archives of several sandbox paths (as the engine's archive API gives them), applying
 * the rules of `mode` entry by entry, streaming: nothing the candidate made is ever materialised on this side,
 * and no link is ever followed.
 */
export class ArchiveWriter {
  readonly pack = tarStream.pack();
  /** `<path> -> <target>` for links replaced by empty files. */
  readonly links: string[] = [];
  /** `<path> <original size>` for files cut. */
  readonly truncated: string[] = [];
  /** `<path> (<type>)` for entries left out. */
  readonly dropped: string[] = [];
  private readonly emitted = new Map<string, Emitted>();
  private totalBytes = 0;
  private droppedBytes = 0;
  private entryLimitHit = false;
  /** Set once maxDroppedBytes were dropped: the archive being read is abandoned, later ones are not read. */
  private readLimitHit = false;
  private extract: { destroy(err?: Error): void } | null = null;
  /** The sandbox path of the entry being read (where a stop happened). */
  private current = '';
  private readonly maxFileBytes: number;
  private readonly maxTotalBytes: number;
  private readonly maxDroppedBytes: number;
  private readonly roots: string[];

  constructor(private readonly opts: ArchiveWriterOptions) {
    this.maxFileBytes = opts.maxFileBytes ?? MAX_FILE_BYTES;
    this.maxTotalBytes = opts.maxTotalBytes ?? MAX_TOTAL_BYTES;
    this.maxDroppedBytes = opts.maxDroppedBytes ?? READ_ALLOWANCE_BYTES;
    this.roots = opts.roots.map((r) => posix.normalize(r).replace(/(.)\/+$/, '$1'));
  }

  private outName(sandboxPath: string): string {
    const rel = sandboxPath.replace(/^\/+/, '');
    return this.opts.prefix ? posix.join(this.opts.prefix, rel) : rel || '.';
  }

  private owner() {
    return this.opts.mode === 'grader' ? { uid: GRADER_UID, gid: GRADER_UID } : {};
  }

  private async write(header: Header, body?: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.pack.entry(header, body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  }

  /** A directory entry (with its parents) owned like the copy, for paths that lead to a collect root. */
  async ensureDir(sandboxPath: string, mode = 0o755): Promise<void> {
    const parts = posix.normalize(sandboxPath).split('/').filter(Boolean);
    const chain = this.opts.prefix ? [''] : [];
    let cur = '';
    for (const p of parts) chain.push((cur = `${cur}/${p}`));
    for (const sp of chain) {
      const name = sp === '' ? this.opts.prefix : this.outName(sp);
      if (this.emitted.has(name)) continue;
      this.emitted.set(name, { type: 'directory' });
      await this.write({ name, type: 'directory', mode, mtime: new Date(), ...(sp === '' ? {} : this.owner()) });
    }
  }

  /** Adds a small file the platform writes (e.g. the lists), owned by root. */
  async addFile(sandboxPath: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const name = this.outName(sandboxPath);
    this.emitted.set(name, { type: 'file' });
    const body = Buffer.isBuffer(content) ? content : Buffer.from(content);
    await this.write({ name, type: 'file', mode, size: body.length, mtime: new Date(), uid: 0, gid: 0 }, body);
  }

  private inside(resolved: string): boolean {
    return this.roots.some((r) => r === '/' || resolved === r || resolved.startsWith(`${r}/`));
  }

  /** Whether an ancestor of `name` was written as something other than a directory (then `name` cannot exist). */
  private blockedByAncestor(name: string): boolean {
    let dir = posix.dirname(name);
    while (dir !== '.' && dir !== '/' && dir !== '') {
      const e = this.emitted.get(dir);
      if (e && e.type !== 'directory') return true;
      dir = posix.dirname(dir);
    }
    return false;
  }

  /**
   * Adds the archive of sandbox path `root` (entries named `<basename(root)>/...`, as the engine's archive API
   * names them). Consumes `tar` to its end.
   */
  async addArchive(root: string, tar: Readable): Promise<void> {
    if (this.readLimitHit) {
      tar.destroy();
      this.truncated.push(`${posix.normalize(root)} 0 (not read: the copy had stopped before it)`);
      return;
    }
    const base = posix.dirname(posix.normalize(root));
    const extract = tarStream.extract();
    this.extract = extract;
    tar.on('error', (err) => extract.destroy(err));
    tar.pipe(extract);
    try {
      for await (const entry of extract) {
        await this.addEntry(base, entry as unknown as Entry);
      }
    } catch (err) {
      if (!this.readLimitHit) throw err;
      tar.destroy();
      this.truncated.push(
        `(the copy stopped in ${this.current || root} after ${this.maxDroppedBytes} bytes read and left out: the entries after it were left out)`,
      );
    } finally {
      this.extract = null;
    }
  }

  /** Counts bytes read and not kept; past maxDroppedBytes the archive being read is abandoned. */
  private drop(n: number): void {
    this.droppedBytes += n;
    if (this.droppedBytes <= this.maxDroppedBytes || this.readLimitHit) return;
    this.readLimitHit = true;
    this.extract?.destroy(new ReadLimitReached(`more than ${this.maxDroppedBytes} bytes read and left out`));
  }

  private async drain(entry: Entry): Promise<void> {
    for await (const chunk of entry as AsyncIterable<Buffer>) this.drop(chunk.length);
  }

  private async addEntry(base: string, entry: Entry): Promise<void> {
    const h = entry.header;
    if (this.emitted.size >= MAX_ENTRIES) {
      if (!this.entryLimitHit) this.truncated.push(`(more than ${MAX_ENTRIES} entries: the rest was left out)`);
      this.entryLimitHit = true;
      return this.drain(entry);
    }
    const rawName = h.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    if (rawName === '' || rawName === '.' || rawName.split('/').includes('..') || rawName.startsWith('/')) {
      return this.drain(entry);
    }
    const sandboxPath = posix.join(base, rawName);
    this.current = sandboxPath;
    const name = this.outName(sandboxPath);
    if (this.emitted.has(name) || this.blockedByAncestor(name)) return this.drain(entry);
    const perm = (h.mode ?? 0o644) & 0o777;
    const mtime = h.mtime ?? new Date();
    const grader = this.opts.mode === 'grader';
    switch (h.type) {
      case 'directory': {
        await this.drain(entry);
        this.emitted.set(name, { type: 'directory' });
        return this.write({ name, type: 'directory', mode: grader ? perm | 0o700 : perm, mtime, ...this.owner(), ...(grader ? {} : { uid: h.uid ?? 0, gid: h.gid ?? 0 }) });
      }
      case 'symlink': {
        await this.drain(entry);
        const target = h.linkname ?? '';
        if (!grader) {
          this.emitted.set(name, { type: 'symlink' });
          return this.write({ name, type: 'symlink', linkname: target, mode: 0o777, mtime, uid: h.uid ?? 0, gid: h.gid ?? 0 });
        }
        const resolved = target.startsWith('/')
          ? posix.normalize(target)
          : posix.resolve(posix.dirname(sandboxPath), target);
        // In a repository's control directory (or as the directory itself) a link could give git files the
        // sanitiser never saw as its configuration: such links become empty files, wherever they point.
        if (target !== '' && this.inside(resolved) && gitRole(sandboxPath) === 'outside') {
          // Relative, with its `..` steps only at the front: they climb real directories from the link's own
          // directory, and every link below is itself kept inside, so resolution cannot leave /sandbox.
          const relative = posix.relative(posix.dirname(sandboxPath), resolved) || '.';
          this.emitted.set(name, { type: 'symlink' });
          return this.write({ name, type: 'symlink', linkname: relative, mode: 0o777, mtime, ...this.owner() });
        }
        this.links.push(`${sandboxPath} -> ${target}`);
        this.emitted.set(name, { type: 'file' });
        return this.write({ name, type: 'file', mode: 0o644, size: 0, mtime, ...this.owner() });
      }
      case 'link': {
        await this.drain(entry);
        if (grader && gitRole(sandboxPath) !== 'outside') {
          this.dropped.push(`${sandboxPath} (hard link in a git directory)`);
          return;
        }
        const targetRaw = (h.linkname ?? '').replace(/^(\.\/)+/, '').replace(/\/+$/, '');
        const targetName = targetRaw.split('/').includes('..') ? '' : this.outName(posix.join(base, targetRaw));
        if (this.emitted.get(targetName)?.type === 'file') {
          this.emitted.set(name, { type: 'link' });
          return this.write({ name, type: 'link', linkname: targetName, mode: perm, mtime, ...this.owner() });
        }
        this.dropped.push(`${sandboxPath} (hard link to ${targetRaw})`);
        return;
      }
      case 'file':
      case 'contiguous-file': {
        const size = h.size ?? 0;
        const role = grader ? gitRole(sandboxPath) : 'outside';
        if (role === 'drop') {
          await this.drain(entry);
          if (!sandboxPath.endsWith('.sample')) this.dropped.push(`${sandboxPath} (git control file)`);
          return;
        }
        if (role === 'sanitise') {
          const content = await readAll(entry, MiB, (n) => this.drop(n));
          const clean = Buffer.from(sanitiseGitFile(sandboxPath, content.toString('utf8')), 'utf8');
          this.emitted.set(name, { type: 'file' });
          this.totalBytes += clean.length;
          return this.write({ name, type: 'file', mode: (perm | 0o600) & 0o777, size: clean.length, mtime, ...this.owner() }, clean);
        }
        let keep = Math.min(size, this.maxFileBytes);
        const atLimit = keep > 0 && this.totalBytes + keep > this.maxTotalBytes;
        if (atLimit) keep = 0;
        if (keep < size) this.truncated.push(`${sandboxPath} ${size}${atLimit ? ' (total size limit reached)' : ''}`);
        this.totalBytes += keep;
        this.emitted.set(name, { type: 'file' });
        const header: Header = {
          name,
          type: 'file',
          mode: grader ? perm | 0o600 : perm,
          size: keep,
          mtime,
          ...(grader ? this.owner() : { uid: h.uid ?? 0, gid: h.gid ?? 0 }),
        };
        return new Promise<void>((resolve, reject) => {
          const sink = this.pack.entry(header, (err) => (err ? reject(err) : resolve()));
          // Stopped half-way through the part kept: the entry is completed with zeros (its header gave the size)
          // and the copy ends after it.
          copyPrefix(entry, sink, keep, () => this.readLimitHit, (n) => this.drop(n)).catch(reject);
        });
      }
      default: {
        // FIFOs, character and block devices, sockets (not in tar), anything unknown: left out.
        await this.drain(entry);
        this.dropped.push(`${sandboxPath} (${h.type ?? 'unknown'})`);
        return;
      }
    }
  }

  finalize(): void {
    this.pack.finalize();
  }

  /** The tar as a Node stream (for the engine's archive API). */
  stream(): Readable {
    return Readable.from(this.pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
  }
}

/**
 * Writes the first `limit` bytes of `source` to `sink` and ends `sink` (as soon as it has them), then reads the
 * rest and drops it. When the source breaks off and `stopped()` says the reading was stopped on purpose, a sink
 * still short of `limit` is filled with zeros, so the tar being written stays whole.
 */
async function copyPrefix(
  source: Readable,
  sink: Sink,
  limit: number,
  stopped: () => boolean,
  drop: (n: number) => void,
): Promise<void> {
  let written = 0;
  let ended = false;
  const write = async (part: Buffer) => {
    written += part.length;
    if (!sink.write(part)) await new Promise<void>((resolve) => sink.once('drain', resolve));
  };
  const end = () => {
    if (ended) return;
    ended = true;
    sink.end();
  };
  if (limit === 0) end();
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (written >= limit) {
        drop(chunk.length);
        continue;
      }
      const part = chunk.length > limit - written ? chunk.subarray(0, limit - written) : chunk;
      if (part.length < chunk.length) drop(chunk.length - part.length);
      await write(part);
      if (written >= limit) end();
    }
  } catch (err) {
    if (!stopped()) throw err;
    while (written < limit) await write(Buffer.alloc(Math.min(64 * 1024, limit - written)));
  }
  end();
}

async function readAll(source: Readable, limit: number, drop: (n: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    const kept = size < limit ? chunk.subarray(0, limit - size) : chunk.subarray(0, 0);
    if (kept.length) chunks.push(kept);
    if (kept.length < chunk.length) drop(chunk.length - kept.length);
    size += chunk.length;
  }
  return Buffer.concat(chunks);
}
