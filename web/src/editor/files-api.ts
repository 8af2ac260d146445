// The editor's calls to the server (docs/api.md, "Workspace files"). A save whose file changed in the sandbox since
// it was loaded answers 409 with the file as it is now: that answer is a result here, not an error.

import { ApiError, request } from '../api.js';
import type { FileConflictBody, FileContent, FileSaved, FileTreeWithTransfer, FileUploaded } from '../../../contract/files.js';
import type { SignalBody } from '../../../contract/signals.js';
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
  tree(attemptId: string, signal?: AbortSignal): Promise<FileTreeWithTransfer> {
    return request<FileTreeWithTransfer>(`${base(attemptId)}/files`, { signal });
  },

  /** Uploads `file` to `path` in the sandbox (replacing a file there). */
  async upload(attemptId: string, path: string, file: Blob, signal?: AbortSignal): Promise<FileUploaded> {
    let response: Response;
    try {
      response = await fetch(`${base(attemptId)}/upload?path=${encodeURIComponent(path)}`, {
        method: 'PUT',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'content-type': 'application/octet-stream' },
        body: file,
        signal: signal ?? null,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'NETWORK', 'Cannot reach the opslab server: try the upload again.');
    }
    const body = (await response.json().catch(() => null)) as (FileUploaded & { error?: { code: string; message: string } }) | null;
    if (response.ok && body) return body;
    throw new ApiError(response.status, body?.error?.code ?? 'BAD_RESPONSE', body?.error?.message ?? `The server answered ${response.status}.`);
  },

  /** A link that downloads one file (the attempt's cookie authorises it). */
  downloadUrl: (attemptId: string, path: string): string => `${base(attemptId)}/download?path=${encodeURIComponent(path)}`,

  /** A link that downloads the editor's folders as a .tar.gz. */
  workspaceUrl: (attemptId: string): string => `${base(attemptId)}/workspace.tar.gz`,

  /** Reports a paste or a focus change; never fails (a report that cannot be sent is dropped). */
  report(attemptId: string, body: SignalBody): void {
    void fetch(`${base(attemptId)}/signals`, {
      method: 'POST',
      credentials: 'same-origin',
      keepalive: true,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).catch(() => undefined);
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
