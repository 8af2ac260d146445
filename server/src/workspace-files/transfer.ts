import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import tarStream from 'tar-stream';
import { ERROR_CODES } from '../../../contract/errors.js';
import {
  TRANSFER_EVENTS,
  TRANSFER_LIMITS,
  type FileTransferEvent,
  type FileUploaded,
  type TransferPolicy,
} from '../../../contract/files.js';
import { errors, OpslabError } from '../errors.js';
import type { Exercise } from '../exercises/catalog.js';
import type { SandboxDriver } from '../sandbox/sandbox-driver.js';
import type { Attempt } from '../store/attempts-repo.js';
import { checkParents, editorRoots, fileErrors, MinuteBudget, rootOf, versionOf } from './files-service.js';
import { packFile, readBody, readTarFile, walk } from './tar-file.js';

const posix = path.posix;
const gzip = promisify(zlib.gzip);

export const transferErrors = {
  off: (what: 'upload' | 'download') =>
    new OpslabError(
      ERROR_CODES.transferOff,
      403,
      what === 'upload' ? 'Uploading files is not allowed in this attempt.' : 'Downloading files is not allowed in this attempt.',
    ),
  tooLarge: (message: string) => new OpslabError(ERROR_CODES.transferTooLarge, 413, message),
};

/** An invite's choice for its attempt (null or absent: the exercise's default). */
export interface InviteTransfer {
  fileUpload?: boolean | null;
  fileDownload?: boolean | null;
}

/**
 * What an attempt may transfer. The exercise's `files:` says `false` (off for everyone), `true`, or nothing (the
 * default: allowed in practice, off in interviews); an interview's invite may then turn each on or off.
 */
export function transferPolicy(
  exercise: Pick<Exercise, 'files'>,
  attempt: Pick<Attempt, 'mode'>,
  invite?: InviteTransfer,
): TransferPolicy {
  const one = (byExercise: boolean | undefined, byInvite: boolean | null | undefined): boolean => {
    if (byExercise === false) return false;
    if (attempt.mode === 'interview' && byInvite !== null && byInvite !== undefined) return byInvite;
    return byExercise ?? attempt.mode === 'practice';
  };
  return {
    upload: one(exercise.files?.upload, invite?.fileUpload),
    download: one(exercise.files?.download, invite?.fileDownload),
  };
}

export interface TransferServiceDeps {
  driver: Pick<SandboxDriver, 'copyOut' | 'copyIn' | 'statPath'>;
  attempts: { get(id: string): Promise<Attempt | undefined> };
  catalog: { forAttempt(attempt: { exerciseId: string; exerciseVersion?: string | null }): Exercise | undefined };
  /** The invite of an interview attempt. */
  invite(attemptId: string): Promise<InviteTransfer | undefined>;
  addEvent(attemptId: string, kind: string, detail: unknown): Promise<void>;
  mark(attemptId: string, label: string): void;
}

export interface DownloadedFile {
  name: string;
  bytes: Buffer;
}

export interface WorkspaceArchive {
  name: string;
  /** The gzipped tar. */
  bytes: Buffer;
  entries: number;
}

/**
 * Files in and out of a running attempt's sandbox: an upload of one file under the editor's folders, the download
 * of one file or of the folders as a tarball. Through the driver's archive operations only (nothing runs in the
 * sandbox), links never followed, each an attempt event with a marker in the recording.
 */
export class TransferService {
  private readonly uploads = new MinuteBudget(TRANSFER_LIMITS.uploadsPerMinute);
  private readonly downloads = new MinuteBudget(TRANSFER_LIMITS.downloadsPerMinute);
  /** One upload at a time per attempt. */
  private readonly uploading = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: TransferServiceDeps) {}

  /** What the attempt may transfer (the tree's answer carries it, so the editor shows only what works). */
  async policy(attempt: Attempt): Promise<TransferPolicy> {
    const exercise = this.deps.catalog.forAttempt(attempt);
    if (!exercise) return { upload: false, download: false };
    return transferPolicy(exercise, attempt, attempt.mode === 'interview' ? await this.deps.invite(attempt.id) : undefined);
  }

  async upload(attempt: Attempt, p: string, bytes: Buffer): Promise<FileUploaded> {
    await this.open(attempt, 'upload');
    this.uploads.take(attempt.id);
    if (bytes.length > TRANSFER_LIMITS.maxUploadBytes) {
      throw transferErrors.tooLarge(`The file is ${bytes.length} bytes; an upload holds at most ${TRANSFER_LIMITS.maxUploadBytes}.`);
    }
    const previous = this.uploading.get(attempt.id) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.doUpload(attempt.id, p, bytes));
    this.uploading.set(attempt.id, run);
    try {
      return await run;
    } finally {
      if (this.uploading.get(attempt.id) === run) this.uploading.delete(attempt.id);
    }
  }

  private async doUpload(attemptId: string, p: string, bytes: Buffer): Promise<FileUploaded> {
    const attempt = await this.deps.attempts.get(attemptId);
    if (!attempt) throw errors.attemptNotFound();
    const { sandboxId, roots } = await this.open(attempt, 'upload');
    const root = rootOf(p, roots);
    await checkParents(this.deps.driver, sandboxId, p, root, true);
    // Only the header of what is there: a link or a folder is never replaced, a file keeps its mode and owner.
    const existing = await readTarFile(this.deps.driver, sandboxId, p, 0);
    if (existing?.type === 'symlink') {
      throw fileErrors.path(`${p} is a link to ${existing.linkTarget ?? 'elsewhere'}: uploads do not follow links.`);
    }
    if (existing && existing.type !== 'file') throw fileErrors.path(`${p} exists and is not a regular file.`);
    // Checked again just before writing: an attempt that ended meanwhile keeps its files as they were graded.
    await this.open((await this.deps.attempts.get(attemptId)) ?? attempt, 'upload');
    const owner = existing ? { mode: existing.mode, uid: existing.uid, gid: existing.gid } : { mode: 0o644, uid: 0, gid: 0 };
    await this.deps.driver.copyIn(sandboxId, posix.dirname(p), packFile(posix.basename(p), bytes, owner));
    const sha256 = versionOf(bytes);
    const event: FileTransferEvent = { path: p, bytes: bytes.length, sha256, created: !existing };
    await this.deps.addEvent(attemptId, TRANSFER_EVENTS.uploaded, event);
    this.deps.mark(attemptId, `file uploaded ${p} (${bytes.length} bytes)`);
    return { path: p, size: bytes.length, sha256, created: !existing };
  }

  async downloadFile(attempt: Attempt, p: string): Promise<DownloadedFile> {
    const { sandboxId, roots } = await this.open(attempt, 'download');
    this.downloads.take(attempt.id);
    const root = rootOf(p, roots);
    const [checked, read] = await Promise.allSettled([
      checkParents(this.deps.driver, sandboxId, p, root, false),
      readTarFile(this.deps.driver, sandboxId, p, TRANSFER_LIMITS.maxFileDownloadBytes),
    ]);
    if (checked.status === 'rejected') throw checked.reason;
    if (read.status === 'rejected') throw read.reason;
    const file = read.value;
    if (!file) throw fileErrors.notFound(p);
    if (file.type === 'symlink') throw fileErrors.path(`${p} is a link to ${file.linkTarget ?? 'elsewhere'}: downloads do not follow links.`);
    if (file.type !== 'file') throw fileErrors.unsupported(`${p} is not a regular file.`);
    if (file.bytes === null) {
      throw transferErrors.tooLarge(`${p} is ${file.size} bytes; a download holds at most ${TRANSFER_LIMITS.maxFileDownloadBytes}.`);
    }
    const event: FileTransferEvent = { path: p, bytes: file.bytes.length, sha256: versionOf(file.bytes) };
    await this.deps.addEvent(attempt.id, TRANSFER_EVENTS.downloaded, event);
    this.deps.mark(attempt.id, `file downloaded ${p} (${file.bytes.length} bytes)`);
    return { name: posix.basename(p), bytes: file.bytes };
  }

  /**
   * The editor's folders as one gzipped tarball (paths from the sandbox's root: root/work/...): regular files,
   * folders and links as links (never followed; nothing is kept below a link). Refused past
   * TRANSFER_LIMITS.maxArchiveBytes of files or maxArchiveEntries entries, before any large body is read.
   */
  async downloadWorkspace(attempt: Attempt): Promise<WorkspaceArchive> {
    const { sandboxId, roots } = await this.open(attempt, 'download');
    this.downloads.take(attempt.id);
    const pack = tarStream.pack();
    const chunks: Buffer[] = [];
    (pack as unknown as Readable).on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise<void>((resolve, reject) => {
      (pack as unknown as Readable).on('end', () => resolve());
      (pack as unknown as Readable).on('error', reject);
    });
    let budget: number = TRANSFER_LIMITS.maxArchiveBytes;
    let entries = 0;
    let tooLarge: string | null = null;
    for (const root of roots) {
      const stat = await this.deps.driver.statPath(sandboxId, root);
      if (stat?.type !== 'directory') continue;
      const links: string[] = [];
      const archive = await this.deps.driver.copyOut(sandboxId, root);
      const parent = posix.dirname(root);
      await walk(archive, async (header, body) => {
        const full = posix.join(parent, header.name.replace(/\/+$/, ''));
        const relative = posix.relative(root, full);
        const keep =
          !relative.startsWith('..') &&
          !posix.isAbsolute(relative) &&
          !links.some((l) => full.startsWith(`${l}/`)) &&
          (header.type === 'file' || header.type === 'contiguous-file' || header.type === 'directory' || header.type === 'symlink');
        if (!keep) {
          body.resume();
          return true;
        }
        if (++entries > TRANSFER_LIMITS.maxArchiveEntries) {
          tooLarge = `The workspace holds more than ${TRANSFER_LIMITS.maxArchiveEntries} entries: download single files instead.`;
          body.resume();
          return false;
        }
        const name = full.slice(1);
        const common = { name, mode: (header.mode ?? 0o644) & 0o7777, mtime: header.mtime ?? new Date(), uid: header.uid ?? 0, gid: header.gid ?? 0 };
        if (header.type === 'directory') {
          body.resume();
          pack.entry({ ...common, type: 'directory' });
        } else if (header.type === 'symlink') {
          body.resume();
          links.push(full);
          pack.entry({ ...common, type: 'symlink', linkname: header.linkname ?? '' });
        } else {
          const size = header.size ?? 0;
          // Judged on the header: a sparse terabyte is refused, not streamed.
          if (size > budget) {
            tooLarge = `The workspace's files hold more than ${TRANSFER_LIMITS.maxArchiveBytes / (1024 * 1024)} MiB: download single files instead.`;
            body.resume();
            return false;
          }
          const { bytes, over } = await readBody(body, size);
          if (over || bytes.length !== size) throw new Error(`${full} changed while it was read`);
          budget -= size;
          pack.entry({ ...common, type: 'file', size }, bytes);
        }
        return true;
      });
      if (tooLarge) break;
    }
    pack.finalize();
    await ended;
    if (tooLarge) throw transferErrors.tooLarge(tooLarge);
    const tar = Buffer.concat(chunks);
    const bytes = await gzip(tar);
    const event: FileTransferEvent = {
      path: roots.join(', '),
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      entries,
    };
    await this.deps.addEvent(attempt.id, TRANSFER_EVENTS.workspaceDownloaded, event);
    this.deps.mark(attempt.id, `workspace downloaded (${entries} entries, ${bytes.length} bytes)`);
    return { name: `${attempt.id}-workspace.tar.gz`, bytes, entries };
  }

  /** The editor's roots and the sandbox of a running attempt that may do `what`. */
  private async open(attempt: Attempt, what: 'upload' | 'download'): Promise<{ sandboxId: string; roots: string[] }> {
    if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
    if (!attempt.sandboxId) throw errors.sandboxMissing();
    const exercise = this.deps.catalog.forAttempt(attempt);
    if (!exercise) throw errors.exerciseNotFound(attempt.exerciseId);
    if (!(await this.policy(attempt))[what]) throw transferErrors.off(what);
    return { sandboxId: attempt.sandboxId, roots: editorRoots(exercise) };
  }
}
