import path from 'node:path';
import { sanitiseGitConfig } from './git-config.js';

const posix = path.posix;

/**
 * What the grader copy does with an entry, as far as git is concerned. Checks run git on the copy, and git reads
 * much more than objects and refs from a repository's control directory: configuration that runs commands, and
 * files that send it to other directories whose configuration the sanitiser never saw (`commondir`, `gitdir`,
 * `objects/info/alternates`), hooks, attributes, grafts, worktrees. So below a `.git` component only the plain
 * data of a repository is kept (HEAD and the other head files, the index, refs, packed refs, reflogs, objects,
 * rebase and merge state, info/exclude), `config` and `config.worktree` are reduced to inert keys, and every other
 * file is dropped: a new file name git learns to honour stays out by default. A `.git` file (gitfile) is kept only
 * when it points into a `.git` directory.
 * - 'outside': not part of a repository's control directory;
 * - 'keep': repository data, copied as it is;
 * - 'sanitise': configuration or a gitfile, rewritten (see sanitiseGitFile);
 * - 'drop': left out.
 */
export function gitRole(sandboxPath: string): 'outside' | 'keep' | 'sanitise' | 'drop' {
  const parts = sandboxPath.split('/');
  const at = parts.indexOf('.git');
  if (at === -1) return 'outside';
  if (at === parts.length - 1) return 'sanitise';
  let rel = parts.slice(at + 1).join('/');
  // A submodule's repository lives at modules/<its path>/ inside the superproject's, with the same layout.
  for (;;) {
    if (GIT_CONFIG_FILE.test(rel)) return 'sanitise';
    if (GIT_DATA.test(rel)) return 'keep';
    const sub = /^modules\/[^/]+\/(.+)$/.exec(rel);
    if (!sub) return 'drop';
    rel = sub[1]!;
  }
}

const GIT_CONFIG_FILE = /^(config|config\.worktree)$/;
const GIT_DATA = new RegExp(
  [
    '^(HEAD|ORIG_HEAD|FETCH_HEAD|MERGE_HEAD|MERGE_MODE|MERGE_MSG|MERGE_RR|CHERRY_PICK_HEAD|REVERT_HEAD|REBASE_HEAD|AUTO_MERGE',
    '|BISECT_[A-Z_]+|COMMIT_EDITMSG|SQUASH_MSG|TAG_EDITMSG|index|packed-refs|description|shallow|info/exclude',
    '|(refs|logs|rebase-merge|rebase-apply|sequencer)/.+',
    // Objects, except the lists of other object stores to borrow from.
    '|objects/(?!info/(alternates|http-alternates)$).+)$',
  ].join(''),
);

export function sanitiseGitFile(sandboxPath: string, content: string): string {
  if (posix.basename(sandboxPath) !== '.git') return sanitiseGitConfig(content);
  // A gitfile may only point into a .git directory (submodules, worktrees): elsewhere the "repository" could be a
  // directory whose config the sanitiser never saw.
  const m = /^gitdir:\s*(.+?)\s*$/m.exec(content);
  if (!m) return '';
  const target = m[1]!;
  const resolved = target.startsWith('/') ? posix.normalize(target) : posix.resolve(posix.dirname(sandboxPath), target);
  return resolved.split('/').includes('.git') ? content : '';
}
