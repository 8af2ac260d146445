import { Readable } from 'node:stream';
import { createTwoFilesPatch } from 'diff';
import tarStream from 'tar-stream';
import { MiB } from './archive.js';

/** Files larger than this are not diffed (the diff says so). */
export const DIFF_MAX_FILE_BYTES = MiB;

/**
 * Bounds on the CPU a diff may take. The files are the candidate's: many large files of distinct lines make a
 * line diff quadratic, so each file's diff gives up after `perFileMs` and the whole diff stops diffing text after
 * `totalMs`; such files are named as changed, "too large to diff".
 */
export interface DiffBudget {
  perFileMs: number;
  totalMs: number;
}
export const DEFAULT_DIFF_BUDGET: DiffBudget = { perFileMs: 1000, totalMs: 10_000 };

type NodeKind = 'file' | 'directory' | 'symlink' | 'other';
interface Node {
  kind: NodeKind;
  mode: number;
  content: Buffer;
  linkname: string;
}

const TRUNCATED_LIST = '.opslab-snapshot-truncated';

async function readSnapshot(tar: Buffer): Promise<{ nodes: Map<string, Node>; truncated: Set<string> }> {
  const nodes = new Map<string, Node>();
  const truncated = new Set<string>();
  if (tar.length === 0) return { nodes, truncated };
  const extract = tarStream.extract();
  Readable.from([tar]).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const h = entry.header;
    const chunks: Buffer[] = [];
    for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
    const name = `/${h.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '')}`;
    if (name === `/${TRUNCATED_LIST}`) {
      for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
        const m = /^(.*) \d+(?: \(.*\))?$/.exec(line);
        if (m) truncated.add(m[1]!);
      }
      continue;
    }
    const kind: NodeKind =
      h.type === 'file' || h.type === 'contiguous-file' || h.type === 'link'
        ? 'file'
        : h.type === 'directory' || h.type === 'symlink'
          ? h.type
          : 'other';
    // A hard link carries no content of its own: it has its target's (written before it).
    const content = h.type === 'link' ? (nodes.get(`/${(h.linkname ?? '').replace(/^(\.\/)+/, '')}`)?.content ?? Buffer.alloc(0)) : Buffer.concat(chunks);
    nodes.set(name, { kind, mode: (h.mode ?? 0) & 0o7777, content, linkname: h.type === 'link' ? '' : (h.linkname ?? '') });
  }
  return { nodes, truncated };
}

export type Change = 'added' | 'removed' | 'modified' | 'type-changed';

export interface SnapshotDiff {
  changed: { path: string; change: Change }[];
  /** A unified diff of the text files that changed; binaries and big files are named, not diffed. */
  diff: string;
}

const isBinary = (b: Buffer) => b.subarray(0, 8000).includes(0);

/** The diff of two snapshots, computed on the calling thread: see diffSnapshots (snapshot.ts) for the server's. */
export async function diffSnapshotTars(before: Buffer, after: Buffer, budget: DiffBudget = DEFAULT_DIFF_BUDGET): Promise<SnapshotDiff> {
  const deadline = performance.now() + budget.totalMs;
  const a = await readSnapshot(before);
  const b = await readSnapshot(after);
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
    else if (x.kind === 'file' && (!x.content.equals(y.content) || x.mode !== y.mode)) change = 'modified';
    else if (x.kind === 'symlink' && x.linkname !== y.linkname) change = 'modified';
    if (!change) continue;
    changed.push({ path: p, change });
    const cut = a.truncated.has(p) || b.truncated.has(p);
    const left = Math.min(budget.perFileMs, deadline - performance.now());
    parts.push(describe(p, change, x, y, cut, left));
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
  if (cut || files.some((n) => n.content.length > DIFF_MAX_FILE_BYTES)) {
    return `File ${p} ${change}: larger than ${DIFF_MAX_FILE_BYTES / MiB} MiB, not diffed\n`;
  }
  if (files.some((n) => isBinary(n.content))) return `Binary file ${p} ${change}\n`;
  if (x && y && x.content.equals(y.content)) {
    return `Mode changed: ${p}: ${x.mode.toString(8)} -> ${y.mode.toString(8)}\n`;
  }
  if (timeoutMs <= 0) return `File ${p} ${change}: not diffed, the diff's time budget was spent on other files\n`;
  const patch = createTwoFilesPatch(
    x ? `a${p}` : '/dev/null',
    y ? `b${p}` : '/dev/null',
    x ? x.content.toString('utf8') : '',
    y ? y.content.toString('utf8') : '',
    undefined,
    undefined,
    { context: 3, timeout: Math.max(1, Math.floor(timeoutMs)) },
  );
  return patch ?? `File ${p} ${change}: too large to diff (over ${Math.round(timeoutMs)} ms)\n`;
}
