import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { createTwoFilesPatch } from 'diff';
import tarStream from 'tar-stream';
import { MiB } from './archive.js';

/** Files larger than this are not diffed (the diff says so). */
export const DIFF_MAX_FILE_BYTES = MiB;

/**
 * Bounds on the CPU and memory a diff may take. The files are the candidate's: many large files of distinct lines
 * make a line diff quadratic, so each file's diff gives up after `perFileMs` and the whole diff stops diffing text
 * after `totalMs`; such files are named as changed, "too large to diff". Snapshots are read from disk as streams,
 * every file compared by its digest; only up to `maxContentBytes` of file content in all is kept for the text
 * diff, and files past it are named as changed, not diffed.
 */
export interface DiffBudget {
  perFileMs: number;
  totalMs: number;
  maxContentBytes?: number;
}
export const DEFAULT_DIFF_BUDGET: DiffBudget = { perFileMs: 1000, totalMs: 10_000, maxContentBytes: 32 * MiB };

type NodeKind = 'file' | 'directory' | 'symlink' | 'other';
interface Node {
  kind: NodeKind;
  mode: number;
  size: number;
  digest: string;
  /** The file's content, when it is small enough to diff and the memory budget allowed keeping it. */
  content: Buffer | null;
  linkname: string;
}

const TRUNCATED_LIST = '.opslab-snapshot-truncated';
/** The note of a snapshot cut at its size limit (see snapshot.ts). */
const LIMIT_NOTE = /^\(the snapshot reached its size limit of (\d+) bytes/;

interface Snapshot {
  nodes: Map<string, Node>;
  /** Files cut: path -> whether the snapshot's size limit (rather than the per-file limit) cut it. */
  truncated: Map<string, boolean>;
  /** The size limit the snapshot was cut at, or null. */
  cutAt: number | null;
}

/** A snapshot: a tar in memory, or the path of a stored one (read as a stream). */
export type SnapshotSource = Buffer | string;

/** Content kept for the text diff, over both snapshots of one diff. */
class ContentBudget {
  constructor(private left: number) {}
  take(n: number): boolean {
    if (n > this.left) return false;
    this.left -= n;
    return true;
  }
}

async function readSnapshot(source: SnapshotSource, budget: ContentBudget): Promise<Snapshot> {
  const nodes = new Map<string, Node>();
  const truncated = new Map<string, boolean>();
  let cutAt: number | null = null;
  if (typeof source !== 'string' && source.length === 0) return { nodes, truncated, cutAt };
  const extract = tarStream.extract();
  const input = typeof source === 'string' ? fs.createReadStream(source) : Readable.from([source]);
  input.on('error', (err: Error) => extract.destroy(err));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const h = entry.header;
    const name = `/${h.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '')}`;
    if (name === `/${TRUNCATED_LIST}`) {
      const chunks: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
      for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
        const note = LIMIT_NOTE.exec(line);
        if (note) {
          cutAt = Number(note[1]);
          continue;
        }
        const m = /^(.*) \d+(?: \(.*\))?$/.exec(line);
        if (m) truncated.set(m[1]!, line.endsWith('(total size limit reached)'));
      }
      continue;
    }
    const kind: NodeKind =
      h.type === 'file' || h.type === 'contiguous-file' || h.type === 'link'
        ? 'file'
        : h.type === 'directory' || h.type === 'symlink'
          ? h.type
          : 'other';
    const mode = (h.mode ?? 0) & 0o7777;
    if (h.type === 'link') {
      // A hard link carries no content of its own: it has its target's (written before it).
      const target = nodes.get(`/${(h.linkname ?? '').replace(/^(\.\/)+/, '')}`);
      entry.resume();
      nodes.set(name, { kind, mode, size: target?.size ?? 0, digest: target?.digest ?? EMPTY_DIGEST, content: target ? target.content : Buffer.alloc(0), linkname: '' });
      continue;
    }
    const size = h.size ?? 0;
    const keep = kind === 'file' && size <= DIFF_MAX_FILE_BYTES && budget.take(size);
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    for await (const c of entry as AsyncIterable<Buffer>) {
      hash.update(c);
      if (keep) chunks.push(c);
    }
    nodes.set(name, { kind, mode, size, digest: hash.digest('hex'), content: keep ? Buffer.concat(chunks) : null, linkname: h.linkname ?? '' });
  }
  return { nodes, truncated, cutAt };
}

const EMPTY_DIGEST = createHash('sha256').digest('hex');

export type Change = 'added' | 'removed' | 'modified' | 'type-changed';

export interface SnapshotDiff {
  changed: { path: string; change: Change }[];
  /** A unified diff of the text files that changed; binaries and big files are named, not diffed. */
  diff: string;
}

const isBinary = (b: Buffer) => b.subarray(0, 8000).includes(0);

/** The diff of two snapshots, computed on the calling thread: see diffSnapshots (snapshot.ts) for the server's. */
export async function diffSnapshotTars(
  before: SnapshotSource,
  after: SnapshotSource,
  budget: DiffBudget = DEFAULT_DIFF_BUDGET,
): Promise<SnapshotDiff> {
  const deadline = performance.now() + budget.totalMs;
  const content = new ContentBudget(budget.maxContentBytes ?? DEFAULT_DIFF_BUDGET.maxContentBytes!);
  const a = await readSnapshot(before, content);
  const b = await readSnapshot(after, content);
  const paths = [...new Set([...a.nodes.keys(), ...b.nodes.keys()])].sort();
  const changed: SnapshotDiff['changed'] = [];
  const parts: string[] = [];
  for (const p of paths) {
    const x = a.nodes.get(p);
    const y = b.nodes.get(p);
    let change: Change | null = null;
    if (!x) change = 'added';
    else if (!y) change = 'removed';
    else if (x.kind !== y.kind) change = 'type-changed';
    else if (x.kind === 'file' && (x.digest !== y.digest || x.mode !== y.mode)) change = 'modified';
    else if (x.kind === 'symlink' && x.linkname !== y.linkname) change = 'modified';
    if (!change) continue;
    changed.push({ path: p, change });
    const cut = a.truncated.has(p) || b.truncated.has(p);
    const atLimit = a.truncated.get(p) === true || b.truncated.get(p) === true;
    const left = Math.min(budget.perFileMs, deadline - performance.now());
    parts.push(atLimit ? `File ${p} ${change}: not compared, the snapshot had reached its size limit\n` : describe(p, change, x, y, cut, left));
  }
  // A snapshot cut at its size limit says so first: what came after the limit was not compared.
  const cutAt = b.cutAt ?? a.cutAt;
  if (cutAt !== null) {
    parts.unshift(
      `Snapshot cut at its size limit (${cutAt >= MiB ? `${Math.round(cutAt / MiB)} MiB` : `${cutAt} bytes`}): files after the limit were kept empty and are not compared.\n`,
    );
  }
  return { changed, diff: parts.filter(Boolean).join('') };
}

function describe(p: string, change: Change, x: Node | undefined, y: Node | undefined, cut: boolean, timeoutMs: number): string {
  const label = (n: Node | undefined) =>
    !n ? 'absent' : n.kind === 'symlink' ? `symlink -> ${n.linkname}` : n.kind === 'file' ? 'file' : n.kind;
  if (change === 'type-changed') return `Type changed: ${p}: ${label(x)} -> ${label(y)}\n`;
  const files = [x, y].filter((n): n is Node => !!n);
  if (files.some((n) => n.kind === 'directory')) {
    return change === 'modified' ? '' : `${change === 'added' ? 'New' : 'Removed'} directory: ${p}\n`;
  }
  if (files.some((n) => n.kind === 'symlink')) {
    return `Symlink ${change}: ${p}: ${label(x)} -> ${label(y)}\n`;
  }
  if (files.some((n) => n.kind !== 'file')) return `Special file ${change}: ${p}\n`;
  if (cut || files.some((n) => n.size > DIFF_MAX_FILE_BYTES)) {
    return `File ${p} ${change}: larger than ${DIFF_MAX_FILE_BYTES / MiB} MiB, not diffed\n`;
  }
  if (x && y && x.digest === y.digest) {
    return `Mode changed: ${p}: ${x.mode.toString(8)} -> ${y.mode.toString(8)}\n`;
  }
  if (files.some((n) => n.content === null)) {
    return `File ${p} ${change}: not diffed, the diff's memory budget was spent on other files\n`;
  }
  if (files.some((n) => isBinary(n.content!))) return `Binary file ${p} ${change}\n`;
  if (timeoutMs <= 0) return `File ${p} ${change}: not diffed, the diff's time budget was spent on other files\n`;
  const patch = createTwoFilesPatch(
    x ? `a${p}` : '/dev/null',
    y ? `b${p}` : '/dev/null',
    x ? x.content!.toString('utf8') : '',
    y ? y.content!.toString('utf8') : '',
    undefined,
    undefined,
    { context: 3, timeout: Math.max(1, Math.floor(timeoutMs)) },
  );
  return patch ?? `File ${p} ${change}: too large to diff (over ${Math.round(timeoutMs)} ms)\n`;
}
