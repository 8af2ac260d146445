// The editor's calls to the server (docs/api.md, "Workspace files"). A save whose file changed in the sandbox since
// it was loaded answers 409 with the file as it is now: that answer is a result here, not an error.

import { ApiError, request } from '../api.js';
import type { FileConflictBody, FileContent, FileSaved, FileTree } from '../../../contract/files.js';
import { ERROR_CODES } from '../../../contract/errors.js';

const base = (attemptId: string) => `/api/attempts/${encodeURIComponent(attemptId)}`;

export const FILE_ERROR = {
  conflict: ERROR_CODES.fileConflict,
  unsupported: ERROR_CODES.fileUnsupported,
  path: ERROR_CODES.filePath,
  notFound: ERROR_CODES.fileNotFound,
  off: ERROR_CODES.editorOff,
} as const;

export type SaveResult = { kind: 'saved'; saved: FileSaved } | { kind: 'conflict'; current: FileContent | null; message: string };

export const filesApi = {
  tree(attemptId: string, signal?: AbortSignal): Promise<FileTree> {
    return request<FileTree>(`${base(attemptId)}/files`, { signal });
  },

  read(attemptId: string, path: string, signal?: AbortSignal): Promise<FileContent> {
    return request<FileContent>(`${base(attemptId)}/file?path=${encodeURIComponent(path)}`, { signal });
  },

  async save(attemptId: string, path: string, content: string, baseVersion: string | null, signal?: AbortSignal): Promise<SaveResult> {
    let response: Response;
    try {
      response = await fetch(`${base(attemptId)}/file`, {
        method: 'PUT',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ path, content, baseVersion }),
        signal: signal ?? null,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'NETWORK', 'Cannot reach the opslab server. Your changes are still here: try saving again.');
    }
    const body = (await response.json().catch(() => null)) as (FileSaved & FileConflictBody) | null;
    if (response.ok && body) return { kind: 'saved', saved: body };
    if (response.status === 409 && body?.error?.code === FILE_ERROR.conflict) {
      return { kind: 'conflict', current: body.current, message: body.error.message };
    }
    const retry = response.headers.get('retry-after');
    throw new ApiError(
      response.status,
      body?.error?.code ?? 'BAD_RESPONSE',
      body?.error?.message ?? `The server answered ${response.status}.`,
      retry && /^\d+$/.test(retry) ? Number(retry) : null,
    );
  },
};
