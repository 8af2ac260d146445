import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AttemptParams,
  FILE_LIMITS,
  FileQuery,
  FileWriteBody,
  SignalBody,
  TRANSFER_LIMITS,
  TransferQuery,
  type FileConflictBody,
  type FileContent,
  type FileSaved,
  type FileTreeWithTransfer,
  type FileUploaded,
} from '../../../contract/index.js';
import { errors } from '../errors.js';
import type { Attempt } from '../store/attempts-repo.js';
import { FileConflict, type FilesService } from '../workspace-files/files-service.js';
import type { SignalsService } from '../workspace-files/signals.js';
import type { TransferService } from '../workspace-files/transfer.js';
import { download } from './downloads.js';

export interface FileRoutesOptions {
  files: FilesService;
  /** Uploads and downloads (the same roots and checks as the editor). */
  transfer: TransferService;
  /** Pastes and focus changes the page reports. */
  signals: SignalsService;
  /** The attempt routes' check: the attempt's token (cookie or Bearer) or the practice token of its trainee. */
  authorise: (request: FastifyRequest<{ Params: AttemptParams }>) => Promise<Attempt>;
}

/**
 * A save's body: the text (at most FILE_LIMITS.maxFileBytes of UTF-8) escaped in JSON, where one byte can take six
 * characters (`\u001b`), plus the path and the version.
 */
const WRITE_BODY_LIMIT = FILE_LIMITS.maxFileBytes * 6 + 8 * 1024;

/** The workspace's editor: the file tree, reading a file, saving one (docs/api.md, "Workspace files"). */
export function fileRoutes(app: FastifyInstance, opts: FileRoutesOptions): void {
  const { files, transfer, signals, authorise } = opts;

  app.get(
    '/api/attempts/:id/files',
    { schema: { params: AttemptParams }, preHandler: authorise },
    async (request: FastifyRequest<{ Params: AttemptParams }>): Promise<FileTreeWithTransfer> => ({
      ...(await files.tree(request.attempt!)),
      transfer: await transfer.policy(request.attempt!),
    }),
  );

  // Uploads: the body is the file's bytes. The parser is this scope's own, so no other route takes raw bodies.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: TRANSFER_LIMITS.maxUploadBytes }, (_request, body, done) =>
      done(null, body),
    );
    scope.put(
      '/api/attempts/:id/upload',
      { schema: { params: AttemptParams, querystring: TransferQuery }, preHandler: authorise, bodyLimit: TRANSFER_LIMITS.maxUploadBytes },
      async (request: FastifyRequest<{ Params: AttemptParams; Querystring: TransferQuery }>): Promise<FileUploaded> => {
        if (!Buffer.isBuffer(request.body)) throw errors.badRequest('Send the file as application/octet-stream.');
        return transfer.upload(request.attempt!, request.query.path, request.body);
      },
    );
  });

  app.get(
    '/api/attempts/:id/download',
    { schema: { params: AttemptParams, querystring: TransferQuery }, preHandler: authorise },
    async (request: FastifyRequest<{ Params: AttemptParams; Querystring: TransferQuery }>, reply: FastifyReply) => {
      const file = await transfer.downloadFile(request.attempt!, request.query.path);
      return download(reply, 'application/octet-stream', safeName(file.name)).send(file.bytes);
    },
  );

  app.get(
    '/api/attempts/:id/workspace.tar.gz',
    { schema: { params: AttemptParams }, preHandler: authorise },
    async (request: FastifyRequest<{ Params: AttemptParams }>, reply: FastifyReply) => {
      const archive = await transfer.downloadWorkspace(request.attempt!);
      return download(reply, 'application/gzip', archive.name).send(archive.bytes);
    },
  );

  app.post(
    '/api/attempts/:id/signals',
    { schema: { params: AttemptParams, body: SignalBody }, preHandler: authorise, bodyLimit: 1024 },
    async (request: FastifyRequest<{ Params: AttemptParams; Body: SignalBody }>) => signals.report(request.attempt!, request.body),
  );

  app.get(
    '/api/attempts/:id/file',
    { schema: { params: AttemptParams, querystring: FileQuery }, preHandler: authorise },
    async (request: FastifyRequest<{ Params: AttemptParams; Querystring: FileQuery }>): Promise<FileContent> =>
      files.read(request.attempt!, request.query.path),
  );

  app.put(
    '/api/attempts/:id/file',
    { schema: { params: AttemptParams, body: FileWriteBody }, preHandler: authorise, bodyLimit: WRITE_BODY_LIMIT },
    async (request: FastifyRequest<{ Params: AttemptParams; Body: FileWriteBody }>, reply: FastifyReply) => {
      const { path, content, baseVersion } = request.body;
      try {
        const saved: FileSaved = await files.write(request.attempt!, path, content, baseVersion);
        return saved;
      } catch (err) {
        if (!(err instanceof FileConflict)) throw err;
        const body: FileConflictBody = { error: { code: err.code, message: err.message }, current: err.current };
        return reply.code(409).send(body);
      }
    },
  );
}

/** A file name for content-disposition: the candidate's name, with anything but [A-Za-z0-9._-] replaced. */
function safeName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
  return clean === '' || /^\.+$/.test(clean) ? 'download' : clean;
}
