import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AttemptParams,
  FILE_LIMITS,
  FileQuery,
  FileWriteBody,
  type FileConflictBody,
  type FileContent,
  type FileSaved,
  type FileTree,
} from '../../../contract/index.js';
import type { Attempt } from '../store/attempts-repo.js';
import { FileConflict, type FilesService } from '../workspace-files/files-service.js';

export interface FileRoutesOptions {
  files: FilesService;
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
  const { files, authorise } = opts;

  app.get(
    '/api/attempts/:id/files',
    { schema: { params: AttemptParams }, preHandler: authorise },
    async (request: FastifyRequest<{ Params: AttemptParams }>): Promise<FileTree> => files.tree(request.attempt!),
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
