// The workspace's editor (docs/api.md, "Workspace files"): the file tree under an exercise's workspace, reading a
// file and saving it, through the server and the sandbox driver. Limits both sides agree on live here.

import { Type, type Static } from './schema.js';

export const FILE_LIMITS = {
  /** A file larger than this is neither opened nor saved by the editor (the shell still can). */
  maxFileBytes: 512 * 1024,
  /** Entries one tree listing returns (over every root); past it the listing says it was cut. */
  maxTreeEntries: 2000,
  /** Directory levels below a root the tree lists. */
  maxTreeDepth: 8,
  /** Characters in a path. */
  maxPathChars: 1024,
  /** Saves one attempt may make in a minute. */
  savesPerMinute: 60,
  /** Tree listings and file reads one attempt may make in a minute (the editor refreshes on focus). */
  readsPerMinute: 300,
  /** Characters of the unified diff a `file.saved` event keeps. */
  diffMaxChars: 4000,
} as const;

/**
 * The body of a save: the file's text and the version the editor loaded (null: the editor believes the file does
 * not exist yet). A 512 KiB file of multi-byte characters takes more JSON than that: the route's body limit allows it.
 */
export const FileWriteBody = Type.Object(
  {
    path: Type.String({ minLength: 2, maxLength: FILE_LIMITS.maxPathChars }),
    content: Type.String({ maxLength: FILE_LIMITS.maxFileBytes }),
    baseVersion: Type.Union([Type.String({ pattern: '^[0-9a-f]{64}$' }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type FileWriteBody = Static<typeof FileWriteBody>;

export const FileQuery = Type.Object(
  { path: Type.String({ minLength: 2, maxLength: FILE_LIMITS.maxPathChars }) },
  { additionalProperties: false },
);
export type FileQuery = Static<typeof FileQuery>;

export type FileEntryType = 'file' | 'directory' | 'symlink' | 'other';

/** One entry of the tree: absolute sandbox paths; a link is shown as a link and never opened. */
export interface FileEntry {
  path: string;
  type: FileEntryType;
  size: number;
  /** For a link: where it points, as written in the link. */
  linkTarget?: string;
}

export interface FileTree {
  /** The directories the editor may open and save under (the exercise's workspace and the paths it collects). */
  roots: string[];
  entries: FileEntry[];
  /** The listing stopped at FILE_LIMITS.maxTreeEntries or maxTreeDepth. */
  truncated: boolean;
}

/** A text file as the editor loads it. `version` is the SHA-256 of its bytes: a save carries it back. */
export interface FileContent {
  path: string;
  content: string;
  version: string;
  size: number;
  /** Permission bits (0o7777). */
  mode: number;
}

/** The 409 of a save whose file changed since the editor loaded it: the file as it is now (null: it is gone). */
export interface FileConflictBody {
  error: { code: string; message: string };
  current: FileContent | null;
}

/** A saved file: its new version. */
export interface FileSaved {
  path: string;
  version: string;
  size: number;
  created: boolean;
}

/** The detail of a `file.saved` attempt event (the review's timeline shows it next to the commands). */
export interface FileSavedEvent {
  path: string;
  bytes: number;
  created: boolean;
  /** A unified diff against the previous content, cut at FILE_LIMITS.diffMaxChars. */
  diff: string;
  diffCut: boolean;
}

/** The editor's language for a file, by its name. */
export type EditorLanguage = 'yaml' | 'python' | 'shell' | 'hcl' | 'dockerfile' | 'markdown' | 'json' | 'plain';

export function editorLanguage(path: string): EditorLanguage {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  if (name === 'dockerfile' || name.startsWith('dockerfile.') || name.endsWith('.dockerfile')) return 'dockerfile';
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : '';
  switch (ext) {
    case 'yml':
    case 'yaml':
      return 'yaml';
    case 'py':
      return 'python';
    case 'sh':
    case 'bash':
      return 'shell';
    case 'tf':
    case 'tfvars':
    case 'hcl':
      return 'hcl';
    case 'md':
    case 'markdown':
      return 'markdown';
    case 'json':
      return 'json';
    default:
      return name === '.bashrc' || name === '.profile' ? 'shell' : 'plain';
  }
}

/** Files in and out of the workspace (docs/api.md, "Workspace files"): uploads, downloads and their limits. */
export const TRANSFER_LIMITS = {
  /** Bytes one upload may hold. */
  maxUploadBytes: 2 * 1024 * 1024,
  /** Bytes one downloaded file may hold. */
  maxFileDownloadBytes: 8 * 1024 * 1024,
  /** Bytes of files the workspace's tarball may hold (before compression); past it the download is refused. */
  maxArchiveBytes: 32 * 1024 * 1024,
  /** Entries the workspace's tarball may hold. */
  maxArchiveEntries: 5000,
  /** Uploads one attempt may make in a minute. */
  uploadsPerMinute: 20,
  /** Downloads (files and tarballs) one attempt may make in a minute. */
  downloadsPerMinute: 20,
} as const;

/**
 * Whether the candidate may upload files into the workspace and download from it. An exercise's `files:` decides
 * (absent: allowed in practice, off in interviews); an invite may turn either on or off, unless its exercise says
 * `false`.
 */
export interface TransferPolicy {
  upload: boolean;
  download: boolean;
}

/** An invite's choice (null: the exercise's default). */
export interface InviteTransferChoice {
  upload: boolean | null;
  download: boolean | null;
}

/** The tree's answer with what the candidate may transfer (the editor hides the buttons otherwise). */
export interface FileTreeWithTransfer extends FileTree {
  transfer: TransferPolicy;
}

/** `PUT /api/attempts/:id/upload?path=`: the body is the file's bytes (application/octet-stream). */
export const TransferQuery = Type.Object(
  { path: Type.String({ minLength: 2, maxLength: FILE_LIMITS.maxPathChars }) },
  { additionalProperties: false },
);
export type TransferQuery = Static<typeof TransferQuery>;

/** An uploaded file. */
export interface FileUploaded {
  path: string;
  size: number;
  sha256: string;
  /** False when it replaced a file. */
  created: boolean;
}

/** The detail of `file.uploaded`, `file.downloaded` and `workspace.downloaded` attempt events. */
export interface FileTransferEvent {
  /** The file, or for the workspace's tarball the folders it holds, comma-separated. */
  path: string;
  bytes: number;
  sha256: string;
  created?: boolean;
  /** Tarball only: the entries it holds. */
  entries?: number;
}

export const TRANSFER_EVENTS = {
  uploaded: 'file.uploaded',
  downloaded: 'file.downloaded',
  workspaceDownloaded: 'workspace.downloaded',
} as const;
