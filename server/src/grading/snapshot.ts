import { Readable } from 'node:stream';
import { createTwoFilesPatch } from 'diff';
import tarStream from 'tar-stream';
import type { SandboxDriver } from '../sandbox/sandbox-driver.js';
import { ArchiveWriter, MiB } from './archive.js';

/** Files larger than this are not diffed (the diff says so). */
export const DIFF_MAX_FILE_BYTES = MiB;
/** A snapshot keeps at most this much of each file, and this much in all. */
const SNAPSHOT_MAX_FILE_BYTES = 2 * MiB;
const SNAPSHOT_MAX_TOTAL_BYTES = 128 * MiB;

/**
 * A tar of the given sandbox paths (entries named by their sandbox path without the leading slash). Links stay
 * links (their targets are only data here), special files are left out, big files are cut.
 */
export async function snapshotSandbox(driver: SandboxDriver, sandboxId: string, paths: string[]): Promise<Buffer> {
  const writer = new ArchiveWriter({
    mode: 'snapshot',
    prefix: '',
    roots: paths,
    maxFileBytes: SNAPSHOT_MAX_FILE_BYTES,
    maxTotalBytes: SNAPSHOT_MAX_TOTAL_BYTES,
  });
  const produce = (async () => {
    for (const p of paths) {
      let tar: Readable;
      try {
        tar = await driver.copyOut(sandboxId, p);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) continue;
        throw err;
      }
      await writer.addArchive(p, tar);
    }
    // Files cut for the snapshot are marked, so the diff can say it did not compare them.
    if (writer.truncated.length) await writer.addFile('/.opslab-snapshot-truncated', writer.truncated.join('\n'));
    writer.finalize();
  })().catch((err: Error) => {
    writer.pack.destroy(err);
    throw err;
  });
  const chunks: Buffer[] = [];
  const consume = (async () => {
    for await (const c of writer.stream()) chunks.push(c as Buffer);
  })();
  const [p, c] = await Promise.allSettled([produce, consume]);
  if (p.status === 'rejected') throw p.reason;
  if (c.status === 'rejected') throw c.reason;
  return Buffer.concat(chunks);
}

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

export async function diffSnapshots(before: Buffer, after: Buffer): Promise<SnapshotDiff> {
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
    parts.push(describe(p, change, x, y, a.truncated.has(p) || b.truncated.has(p)));
  }
  return { changed, diff: parts.filter(Boolean).join('') };
}

function describe(p: string, change: Change, x: Node | undefined, y: Node | undefined, cut: boolean): string {
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
  return createTwoFilesPatch(
    x ? `a${p}` : '/dev/null',
    y ? `b${p}` : '/dev/null',
    x ? x.content.toString('utf8') : '',
    y ? y.content.toString('utf8') : '',
    undefined,
    undefined,
    { context: 3 },
  );
}
