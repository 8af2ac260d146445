import { createHash } from 'node:crypto';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { ERROR_CODES } from '../../../contract/errors.js';
import {
  FILE_LIMITS,
  type FileContent,
  type FileSaved,
  type FileSavedEvent,
  type FileTree,
} from '../../../contract/files.js';
import { errors, OpslabError } from '../errors.js';
import type { Exercise } from '../exercises/catalog.js';
import type { SandboxDriver } from '../sandbox/sandbox-driver.js';
import type { Attempt } from '../store/attempts-repo.js';
import { listTree, packFile, readTarFile, type TarFile } from './tar-file.js';

const posix = path.posix;

/** The attempt event a save writes (its detail: FileSavedEvent). */
export const FILE_SAVED_EVENT = 'file.saved';

export const fileErrors = {
  editorOff: () => new OpslabError(ERROR_CODES.editorOff, 403, 'This exercise has no editor: use the terminal.'),
  path: (message: string) => new OpslabError(ERROR_CODES.filePath, 403, message),
  notFound: (p: string) => new OpslabError(ERROR_CODES.fileNotFound, 404, `There is no file at ${p}.`),
  unsupported: (message: string) => new OpslabError(ERROR_CODES.fileUnsupported, 422, message),
  rate: (retryAfterSeconds: number) =>
    new OpslabError(ERROR_CODES.fileRate, 429, `Too many file requests; try again in ${retryAfterSeconds} s.`, {
      'retry-after': String(retryAfterSeconds),
    }),
};

/** The 409 of a save over a file that changed since the editor loaded it: carries the file as it is now. */
export class FileConflict extends OpslabError {
  constructor(readonly current: FileContent | null) {
    super(
      ERROR_CODES.fileConflict,
      409,
      current
        ? `${current.path} changed in the sandbox since it was opened: overwrite it or reload it.`
        : 'The file was removed in the sandbox since it was opened: save again to create it, or close it.',
    );
  }
}

/** How long a save's diff may take before it is left out. */
const DIFF_TIMEOUT_MS = 100;

export const versionOf = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The editor's roots for an exercise: its workspace and the paths it collects for the checks (the exercise lists
 * them), normalised, a path inside another left out.
 */
export function editorRoots(exercise: Pick<Exercise, 'workspace' | 'collect'>): string[] {
  const all = [...new Set([exercise.workspace, ...exercise.collect].map((p) => posix.normalize(p).replace(/(.)\/+$/, '$1')))];
  return all.filter((p) => p !== '/' && !all.some((q) => q !== p && p.startsWith(`${q}/`))).sort();
}

/**
 * A path the editor may name: absolute, no `.`/`..` segments, no empty segments, no control characters, strictly
 * under one of `roots`. Returns that root. Symlinked parents are checked against the sandbox separately.
 */
export function rootOf(p: string, roots: string[]): string {
  if (!p.startsWith('/')) throw fileErrors.path('A path must be absolute.');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) throw fileErrors.path('A path may not hold control characters.');
  const segments = p.slice(1).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw fileErrors.path('A path may not hold ".", ".." or empty segments.');
  }
  const root = roots.find((r) => p.startsWith(`${r}/`));
  if (!root) throw fileErrors.path(`${p} is outside the editor's folders (${roots.join(', ')}).`);
  return root;
}

function decodeText(bytes: Buffer, p: string): string {
  if (bytes.includes(0)) throw fileErrors.unsupported(`${p} is a binary file: the editor opens text only (use the terminal).`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fileErrors.unsupported(`${p} is not UTF-8 text: the editor opens text only (use the terminal).`);
  }
}

/** Counts requests per attempt in a one-minute window. */
export class MinuteBudget {
  private readonly used = new Map<string, number[]>();
  constructor(
    private readonly perMinute: number,
    private readonly refuse: (retryAfterSeconds: number) => Error = fileErrors.rate,
  ) {}
  take(key: string, now = Date.now()): void {
    const recent = (this.used.get(key) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.perMinute) {
      this.used.set(key, recent);
      throw this.refuse(Math.max(1, Math.ceil((60_000 - (now - recent[0]!)) / 1000)));
    }
    recent.push(now);
    this.used.set(key, recent);
  }
}

export interface FilesServiceDeps {
  driver: Pick<SandboxDriver, 'copyOut' | 'copyIn' | 'statPath'>;
  attempts: { get(id: string): Promise<Attempt | undefined> };
  /** The attempt's own exercise version (the one its invite pinned). */
  catalog: { forAttempt(attempt: { exerciseId: string; exerciseVersion?: string | null }): Exercise | undefined };
  /** Records an attempt event. */
  addEvent(attemptId: string, kind: string, detail: unknown): Promise<void>;
  /** Writes a marker into the attempt's live recording (when a terminal is open). */
  mark(attemptId: string, label: string): void;
}

/**
 * The editor's view of a running attempt's sandbox: the tree under the exercise's folders, reading and saving text
 * files. Everything goes through the sandbox driver's archive operations (nothing runs in the sandbox); no link
 * is ever followed, and a path whose parent is a link is refused.
 */
export class FilesService {
  private readonly saves = new MinuteBudget(FILE_LIMITS.savesPerMinute);
  private readonly reads = new MinuteBudget(FILE_LIMITS.readsPerMinute);
  /** One save at a time per attempt. */
  private readonly saving = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: FilesServiceDeps) {}

  async tree(attempt: Attempt): Promise<FileTree> {
    const { sandboxId, roots } = this.open(attempt);
    this.reads.take(attempt.id);
    const entries: FileTree['entries'] = [];
    let truncated = false;
    for (const root of roots) {
      // A root the candidate replaced by a link (or removed) lists nothing.
      const stat = await this.deps.driver.statPath(sandboxId, root);
      if (stat?.type !== 'directory') continue;
      const room = FILE_LIMITS.maxTreeEntries - entries.length;
      if (room <= 0) {
        truncated = true;
        break;
      }
      const listing = await listTree(this.deps.driver, sandboxId, root, { maxEntries: room, maxDepth: FILE_LIMITS.maxTreeDepth });
      entries.push(...listing.entries);
      truncated ||= listing.truncated;
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { roots, entries, truncated };
  }

  async read(attempt: Attempt, p: string): Promise<FileContent> {
    const { sandboxId, roots } = this.open(attempt);
    this.reads.take(attempt.id);
    const file = await this.checkedRead(sandboxId, p, rootOf(p, roots), false);
    if (!file) throw fileErrors.notFound(p);
    return this.content(p, file);
  }

  /**
   * Saves `content` at `p` when the file is still at `baseVersion` (null: it must not exist yet); otherwise a
   * FileConflict with the file as it is now. Keeps an existing file's mode and owner; a new one is root's, 0644.
   */
  async write(attempt: Attempt, p: string, content: string, baseVersion: string | null): Promise<FileSaved> {
    this.open(attempt);
    this.saves.take(attempt.id);
    const previous = this.saving.get(attempt.id) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.doWrite(attempt.id, p, content, baseVersion));
    this.saving.set(attempt.id, run);
    try {
      return await run;
    } finally {
      if (this.saving.get(attempt.id) === run) this.saving.delete(attempt.id);
    }
  }

  private async doWrite(attemptId: string, p: string, content: string, baseVersion: string | null): Promise<FileSaved> {
    // The attempt as it is now: a save queued behind another may find it ended.
    const attempt = await this.deps.attempts.get(attemptId);
    if (!attempt) throw errors.attemptNotFound();
    const { sandboxId, roots } = this.open(attempt);
    const bytes = Buffer.from(content, 'utf8');
    if (bytes.length > FILE_LIMITS.maxFileBytes) {
      throw fileErrors.unsupported(`The file is ${bytes.length} bytes; the editor saves at most ${FILE_LIMITS.maxFileBytes}.`);
    }
    const dir = posix.dirname(p);
    const existing = await this.checkedRead(sandboxId, p, rootOf(p, roots), true);
    const current = existing ? this.content(p, existing) : null;
    if ((current?.version ?? null) !== baseVersion) throw new FileConflict(current);
    const version = versionOf(bytes);
    if (current && current.version === version) return { path: p, version, size: bytes.length, created: false };
    // Checked again just before writing: an attempt that ended meanwhile keeps its files as they were graded.
    this.open((await this.deps.attempts.get(attemptId)) ?? attempt);
    const owner = existing ? { mode: existing.mode, uid: existing.uid, gid: existing.gid } : { mode: 0o644, uid: 0, gid: 0 };
    await this.deps.driver.copyIn(sandboxId, dir, packFile(posix.basename(p), bytes, owner));
    const event = savedEvent(p, current?.content ?? '', content, bytes.length, !current);
    await this.deps.addEvent(attemptId, FILE_SAVED_EVENT, event);
    this.deps.mark(attemptId, `file saved ${p}`);
    return { path: p, version, size: bytes.length, created: !current };
  }

  /** The editor's roots and the sandbox of a running attempt whose exercise has the editor. */
  private open(attempt: Attempt): { sandboxId: string; roots: string[] } {
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    if (!attempt.sandboxId) throw errors.sandboxMissing();
    const exercise = this.deps.catalog.forAttempt(attempt);
    if (!exercise) throw errors.exerciseNotFound(attempt.exerciseId);
    if (exercise.editor === false) throw fileErrors.editorOff();
    return { sandboxId: attempt.sandboxId, roots: editorRoots(exercise) };
  }

  /**
   * The file at `p` once its parents are known to be plain folders. Both are asked of the engine at once (a save is
   * one round trip shorter); what was read is dropped unseen when a parent turns out to be a link.
   */
  private async checkedRead(sandboxId: string, p: string, root: string, mustExist: boolean): Promise<TarFile | null> {
    const [checked, read] = await Promise.allSettled([
      checkParents(this.deps.driver, sandboxId, p, root, mustExist),
      readTarFile(this.deps.driver, sandboxId, p, FILE_LIMITS.maxFileBytes),
    ]);
    if (checked.status === 'rejected') throw checked.reason;
    if (read.status === 'rejected') throw read.reason;
    return read.value;
  }

  private content(p: string, file: TarFile): FileContent {
    if (file.type === 'symlink') {
      throw fileErrors.path(`${p} is a link to ${file.linkTarget ?? 'elsewhere'}: the editor does not follow links.`);
    }
    if (file.type !== 'file') throw fileErrors.unsupported(`${p} is not a regular file.`);
    if (file.size > FILE_LIMITS.maxFileBytes || file.bytes === null) {
      throw fileErrors.unsupported(
        `${p} is ${file.size} bytes: the editor opens files up to ${FILE_LIMITS.maxFileBytes / 1024} KiB (use the terminal).`,
      );
    }
    return { path: p, content: decodeText(file.bytes, p), version: versionOf(file.bytes), size: file.size, mode: file.mode };
  }
}

/**
 * Every directory from the root down to the file's parent must be a directory in the sandbox, not a link: the
 * engine resolves links in a path's parents, so /root/work/etc/shadow with etc -> /etc would name /etc/shadow.
 */
export async function checkParents(
  driver: Pick<SandboxDriver, 'statPath'>,
  sandboxId: string,
  p: string,
  root: string,
  mustExist = false,
): Promise<void> {
  const parts = posix.relative(root, posix.dirname(p));
  let dir = root;
  for (const part of ['', ...(parts === '' ? [] : parts.split('/'))]) {
    dir = part === '' ? dir : `${dir}/${part}`;
    const stat = await driver.statPath(sandboxId, dir);
    if (stat === null) {
      // A read then answers 404; a save needs the folder.
      if (mustExist) throw fileErrors.path(`${posix.dirname(p)} does not exist: create the folder in the terminal first.`);
      return;
    }
    if (stat.type === 'symlink') throw fileErrors.path(`${dir} is a link (to ${stat.linkTarget ?? 'elsewhere'}): the editor does not follow links.`);
    if (stat.type !== 'directory') throw fileErrors.path(`${dir} is not a folder.`);
  }
}

/** A `file.saved` event: the path, the size, and a unified diff against the previous content, capped. */
export function savedEvent(p: string, before: string, after: string, bytes: number, created: boolean): FileSavedEvent {
  // Bounded: a save of two unrelated 512 KiB texts must not hold the event loop.
  const patch = createTwoFilesPatch(p, p, before, after, '', '', { context: 2, timeout: DIFF_TIMEOUT_MS });
  const full =
    patch === undefined
      ? `(the change is too large to show: ${before.length} → ${after.length} characters)`
      : patch
          .split('\n')
          .filter((line, i) => i > 1 || !(line.startsWith('====') || line.startsWith('Index:')))
          .join('\n');
  const diffCut = full.length > FILE_LIMITS.diffMaxChars;
  return { path: p, bytes, created, diff: diffCut ? full.slice(0, FILE_LIMITS.diffMaxChars) : full, diffCut };
}
