// A container's filesystem changes against its image, as the engine keeps them (GET /containers/{id}/changes: the
// writable layer's entries): nothing runs in the sandbox, and nothing in it can alter the list. Read as a stream
// with a byte cap, since a candidate decides how many files there are.
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { SandboxChange } from '../../sandbox-driver.js';
import { statusOf } from './errors.js';

const KINDS: Record<number, SandboxChange['kind']> = { 0: 'changed', 1: 'added', 2: 'deleted' };

export async function listChanges(
  docker: Docker,
  id: string,
  opts: { maxBytes: number; timeoutMs: number },
): Promise<{ changes: SandboxChange[]; truncated: boolean }> {
  let stream: Readable;
  try {
    stream = await new Promise<Readable>((resolve, reject) => {
      docker.modem.dial(
        { path: `/containers/${encodeURIComponent(id)}/changes?`, method: 'GET', isStream: true, statusCodes: { 200: true, 404: 'no such container', 500: 'server error' } },
        (err: unknown, res: unknown) => (err ? reject(err) : resolve(res as Readable)),
      );
    });
  } catch (err) {
    if (statusOf(err) === 404) return { changes: [], truncated: false };
    throw err;
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  let truncated = false;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`the engine did not list the changes of ${id.slice(0, 12)} within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    stream.on('data', (chunk: Buffer) => {
      if (truncated) return;
      bytes += chunk.length;
      if (bytes > opts.maxBytes) {
        truncated = true;
        chunks.push(chunk.subarray(0, chunk.length - (bytes - opts.maxBytes)));
        stream.destroy();
        clearTimeout(timer);
        resolve();
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on('error', (err) => {
      clearTimeout(timer);
      if (truncated) resolve();
      else reject(err);
    });
  });
  const text = Buffer.concat(chunks).toString('utf8');
  return { changes: withoutEngineFiles(truncated ? parsePartial(text) : parseChanges(text)), truncated };
}

/** What the engine itself places in a container's filesystem (its init, with `Init: true`), not a change of its user. */
const ENGINE_PLACED = ['/usr/sbin/docker-init'];

/**
 * The list without the engine's own files, and without the folders recorded as changed only because they hold
 * one (a folder counts as changed when anything in it does).
 */
export function withoutEngineFiles(changes: SandboxChange[]): SandboxChange[] {
  const kept = changes.filter((c) => !ENGINE_PLACED.includes(c.path));
  const holdsEngineFile = (c: SandboxChange) => c.kind === 'changed' && ENGINE_PLACED.some((e) => e.startsWith(`${c.path === '/' ? '' : c.path}/`));
  const prefix = (dir: string) => (dir === '/' ? '/' : `${dir}/`);
  // A folder that holds an engine file stays when anything else in it changed.
  const holdsOther = (dir: string) => kept.some((c) => c.path.startsWith(prefix(dir)) && !holdsEngineFile(c));
  return kept.filter((c) => !holdsEngineFile(c) || holdsOther(c.path));
}

type EngineChange = { Path?: unknown; Kind?: unknown };

function toChange(c: EngineChange): SandboxChange | null {
  const kind = typeof c.Kind === 'number' ? KINDS[c.Kind] : undefined;
  return typeof c.Path === 'string' && kind ? { path: c.Path, kind } : null;
}

/** The engine's whole answer (`null` when nothing changed). */
export function parseChanges(text: string): SandboxChange[] {
  const list = JSON.parse(text || 'null') as EngineChange[] | null;
  return (list ?? []).map(toChange).filter((c): c is SandboxChange => c !== null);
}

/** The complete entries of an answer cut at the cap. */
export function parsePartial(text: string): SandboxChange[] {
  const out: SandboxChange[] = [];
  for (const m of text.matchAll(/\{"Path":("(?:[^"\\]|\\.)*"),"Kind":(\d)\}/g)) {
    const change = toChange({ Path: JSON.parse(m[1]!) as string, Kind: Number(m[2]) });
    if (change) out.push(change);
  }
  return out;
}
