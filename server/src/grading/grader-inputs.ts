// What the grader is given besides the exercise's checks: the candidate's files (copied out of the sandbox through
// the sanitiser), the engine's record of what differs from the image, and the sandbox's processes. Nothing here runs
// in the sandbox: the engine answers for it.
import path from 'node:path';
import type { JobDriver, SandboxProcess } from '../sandbox/sandbox-driver.js';
import { ArchiveWriter } from './archive.js';
import type { FileSource } from './file-source.js';
import { packFiles } from '../local-tar.js';

/** The collect paths, through the sanitiser, into the grader at /sandbox<path>. */
export async function copySandbox(files: FileSource, driver: JobDriver, graderId: string, paths: string[]): Promise<void> {
  const collect = paths.map((p) => path.posix.normalize(p).replace(/(.)\/+$/, '$1'));
  const writer = new ArchiveWriter({ mode: 'grader', prefix: 'sandbox', roots: collect });
  const produce = (async () => {
    await writer.ensureDir('/');
    for (const root of collect) {
      let tar;
      try {
        tar = await files.copyOut(root);
      } catch (err) {
        // A path the candidate deleted is simply absent from the copy; anything else is a grading failure.
        if ((err as { statusCode?: number }).statusCode === 404) continue;
        throw err;
      }
      await writer.ensureDir(path.posix.dirname(root));
      await writer.addArchive(root, tar);
    }
    await writer.addFile('/.opslab-links', writer.links.map((l) => `${l}\n`).join(''));
    await writer.addFile('/.opslab-truncated', writer.truncated.map((l) => `${l}\n`).join(''));
    writer.finalize();
  })().catch((err: Error) => {
    writer.pack.destroy(err);
    throw err;
  });
  const consume = driver.copyIn(graderId, '/', writer.stream());
  const [p, c] = await Promise.allSettled([produce, consume]);
  if (p.status === 'rejected') throw p.reason;
  if (c.status === 'rejected') throw c.reason;
}

/** Where probe checks find what differs in the sandbox from its image (written once before the checks: see putChanges). */
export const CHANGES_PATH = '/probe/changes.json';

/**
 * The sandbox's paths that differ from its image, as the engine records them, into the grader at CHANGES_PATH:
 * `{"truncated": bool, "changes": [{"path", "kind": "added"|"changed"|"deleted"}]}`. A check can tell from it whether
 * the programs and the interpreter the box runs are the image's, which no file inside the sandbox can. Root's file,
 * read-only for the checks.
 */
export async function putChanges(driver: JobDriver, sandboxId: string, graderId: string): Promise<void> {
  const { changes, truncated } = await driver.changes(sandboxId);
  await driver.copyIn(graderId, '/', packFiles([{ name: CHANGES_PATH.slice(1), content: JSON.stringify({ truncated, changes }), mode: 0o444 }]));
}

/** Where probe checks find the sandbox's processes (written before each check: see putProcessList). */
export const PROCESS_LIST_PATH = '/probe/processes';
/** Where they find those processes' environments (written with the list). */
export const PROCESS_ENVIRON_PATH = '/probe/environ';

/**
 * The sandbox's processes as the engine sees them, into the grader at PROCESS_LIST_PATH: one line per process,
 * `pid<TAB>ppid<TAB>uid<TAB>stat<TAB>args` (the engine host's process ids), and their environments at
 * PROCESS_ENVIRON_PATH (see formatEnvironments). The grader does not share the sandbox's process namespace, so
 * these files are how a check sees what runs there; nothing is run in the sandbox to get them. Root's files,
 * read-only for the checks; empty when the sandbox is not running.
 */
export async function putProcessList(driver: JobDriver, sandboxId: string, graderId: string): Promise<void> {
  const list = await driver.processes(sandboxId);
  const clean = (s: string) => s.replace(/[\t\n\r]/g, ' ');
  const text = list.map((p) => `${p.pid}\t${p.ppid}\t${p.uid}\t${clean(p.stat)}\t${clean(p.args)}\n`).join('');
  await driver.copyIn(
    graderId,
    '/',
    packFiles([
      { name: PROCESS_LIST_PATH.slice(1), content: text, mode: 0o444 },
      { name: PROCESS_ENVIRON_PATH.slice(1), content: formatEnvironments(list), mode: 0o444 },
    ]),
  );
}

/**
 * One line per process whose environment is known: `pid`, then a TAB before each `NAME=value`, in which `%`, TAB,
 * LF and CR are written `%25`, `%09`, `%0A` and `%0D` (so a TAB only ever separates and any `%XX` decodes back);
 * a process with an empty environment has a line with its pid alone, one whose environment is unknown has none.
 */
export function formatEnvironments(list: SandboxProcess[]): string {
  const encode = (s: string) => s.replace(/[%\t\n\r]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return list
    .flatMap((p) => (p.environ ? [[String(p.pid), ...p.environ.map(encode)].join('\t') + '\n'] : []))
    .join('');
}
