// Facts about a container's files, and directories made in it, through the engine's archive API: nothing runs in
// the container (its programs are the candidate's to replace).
import path from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tarStream from 'tar-stream';
import type { PathStat } from '../../sandbox-driver.js';
import { statusOf } from './errors.js';

/** Go's os.FileMode type bits, as the engine reports them. */
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
/** Device, named pipe, socket, character device, irregular. */
const MODE_OTHER = [2 ** 26, 2 ** 25, 2 ** 24, 2 ** 21, 2 ** 19];
const MAX_LINK_HOPS = 8;

/** Parses the engine's X-Docker-Container-Path-Stat header (base64 JSON: name, size, mode, mtime, linkTarget). */
export function parsePathStat(header: string): PathStat {
  const raw = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { size?: number; mode?: number; linkTarget?: string };
  const mode = Number(raw.mode ?? 0);
  // Bitwise operators would truncate to 32 bits signed: the directory bit is the 32nd.
  const has = (bit: number) => Math.floor(mode / bit) % 2 === 1;
  const type = has(MODE_DIR)
    ? 'directory'
    : has(MODE_SYMLINK)
      ? 'symlink'
      : MODE_OTHER.some(has)
        ? 'other'
        : 'file';
  return {
    type,
    // Permission bits and setuid/setgid/sticky (Go keeps those apart: 1<<23, 1<<22, 1<<20).
    mode: (mode % 0o1000) | (has(2 ** 23) ? 0o4000 : 0) | (has(2 ** 22) ? 0o2000 : 0) | (has(2 ** 20) ? 0o1000 : 0),
    size: Number(raw.size ?? 0),
    linkTarget: type === 'symlink' && raw.linkTarget ? raw.linkTarget : null,
  };
}
async function statOnce(docker: Docker, id: string, p: string): Promise<PathStat | null> {
  const container = docker.getContainer(id);
  try {
    const res = (await container.infoArchive({ path: p })) as unknown as Readable & { headers: Record<string, string> };
    res.resume();
    const header = res.headers['x-docker-container-path-stat'];
    if (!header) throw new Error(`the engine gave no stat of ${p}`);
    return parsePathStat(header);
  } catch (err) {
    // 404: nothing there. 500: the path cannot be resolved (a link loop, a file where a directory should be), which
    // the sandbox's owner can arrange: nothing usable there either. A HEAD answer has no body to tell these from a
    // missing container or a failing engine: ask about the container.
    const status = statusOf(err);
    if (status !== 404 && status !== 500) throw err;
    await container.inspect();
    return null;
  }
}

/**
 * What is at `p` in the container (a link itself, or with `follow` what it leads to); null when nothing is, or when
 * the path cannot be resolved.
 */
export async function statPath(docker: Docker, id: string, p: string, follow = false): Promise<PathStat | null> {
  let st = await statOnce(docker, id, p);
  for (let hops = 0; follow && st?.type === 'symlink' && st.linkTarget && hops < MAX_LINK_HOPS; hops++) {
    st = await statOnce(docker, id, st.linkTarget);
  }
  return st;
}

/** A tar of directory entries (root's, 0755), `names` relative and parents first. */
function dirsTar(names: string[]): Readable {
  const pack = tarStream.pack();
  for (const name of names) pack.entry({ name: `${name}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date() });
  pack.finalize();
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

/**
 * `mkdir -p` through the engine: finds the deepest part of `dir` that exists (following links, as mkdir does),
 * and extracts a tar of the missing directories there. Existing directories are left as they are (an entry for
 * them would reset their mode and owner).
 */
export async function makeDirs(docker: Docker, id: string, dir: string): Promise<void> {
  const abs = path.posix.resolve('/', dir);
  const parts = abs.split('/').filter(Boolean);
  let existing = 0;
  for (; existing < parts.length; existing++) {
    const p = `/${parts.slice(0, existing + 1).join('/')}`;
    const st = await statPath(docker, id, p, true);
    if (!st) break;
    if (st.type !== 'directory') throw new Error(`cannot create the directory ${abs}: ${p} exists and is not a directory`);
  }
  if (existing === parts.length) return;
  const base = `/${parts.slice(0, existing).join('/')}`;
  const missing = parts.slice(existing).map((_, i) => parts.slice(existing, existing + i + 1).join('/'));
  await docker.getContainer(id).putArchive(dirsTar(missing), { path: base });
}
