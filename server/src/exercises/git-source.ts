// Exercises from a git repository (OPSLAB_EXERCISES_GIT): where it is, which ref, and a clone of it in the data
// directory, fetched and checked out with git's own hooks and prompts turned off, within a time limit and a size cap.
// What is in the checkout is only read; publish.ts decides what of it is served.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { COMMIT_PATTERN, displayGitUrl, gitSourceLabel, type GitSourceSpec } from '../git-url.js';

export { displayGitUrl, gitSourceLabel, parseGitSource, parseGitSources, type GitSourceSpec } from '../git-url.js';

/** The directory under the data directory that holds the clones. */
export const EXERCISE_SOURCES_DIR = 'exercise-sources';

export interface GitLimits {
  /** A fetch and checkout together may take this long. */
  timeoutMs: number;
  /** The clone (history and checkout) may not grow past this. */
  maxBytes: number;
}

export interface FetchedCommit {
  commit: string;
  /** The checkout's directory that holds the exercises: `exercises/` when the repository has one, else its root. */
  exercisesDir: string;
}

/**
 * Env of every git run: only what git needs to find the host's configuration and keys (HOME, XDG_CONFIG_HOME, an ssh
 * agent, a proxy), never a prompt (ssh in batch mode unless the operator set their own GIT_SSH_COMMAND).
 */
const PASSED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'XDG_CONFIG_HOME', 'SSH_AUTH_SOCK', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy', 'GIT_SSH_COMMAND'];
function gitEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  env.GIT_TERMINAL_PROMPT = '0';
  env.GCM_INTERACTIVE = 'never';
  if (!env.GIT_SSH_COMMAND) env.GIT_SSH_COMMAND = 'ssh -o BatchMode=yes';
  return env;
}

/**
 * Settings every git command runs with, over the host's: no hooks (post-checkout...), no fsmonitor, no submodules,
 * none of git's arbitrary-command transports, no automatic gc in the background.
 */
const SAFE_CONFIG = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'submodule.recurse=false',
  'protocol.ext.allow=never',
  'protocol.fd.allow=never',
  'gc.auto=0',
  'advice.detachedHead=false',
];

/** Bytes under a directory (links not followed); stops counting past `limit`. */
export function directoryBytes(dir: string, limit = Number.POSITIVE_INFINITY): number {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0 && total <= limit) {
    const d = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const abs = path.join(d, e.name);
      if (e.isDirectory()) stack.push(abs);
      else if (e.isFile()) total += fs.lstatSync(abs, { throwIfNoEntry: false })?.size ?? 0;
    }
  }
  return total;
}

/** A repository of exercises, cloned under `<root>/<hash of url and ref>/repo`. */
export class GitSource {
  readonly label: string;
  readonly dir: string;

  constructor(
    readonly spec: GitSourceSpec,
    root: string,
    private readonly limits: GitLimits,
  ) {
    this.label = gitSourceLabel(spec);
    const key = createHash('sha256').update(`${spec.url}#${spec.ref ?? ''}`).digest('hex').slice(0, 16);
    this.dir = path.join(root, key, 'repo');
  }

  private git(signal: AbortSignal): SimpleGit {
    return simpleGit({
      baseDir: this.dir,
      config: SAFE_CONFIG,
      abort: signal,
      // Our own settings; simple-git refuses them otherwise.
      unsafe: { allowUnsafeHooksPath: true, allowUnsafeProtocolOverride: true, allowUnsafeSshCommand: true, allowUnsafeFsMonitor: true },
      allowEnvironment: ['GIT_TERMINAL_PROMPT', 'GIT_SSH_COMMAND', 'GCM_INTERACTIVE'],
    }).env(gitEnv());
  }

  /**
   * Fetches the repository and checks out the ref's commit (a clean checkout: nothing of an earlier commit left).
   * Throws an Error saying what failed (unreachable, unknown ref, too large, too slow), credentials never in it.
   */
  async fetch(outer?: AbortSignal): Promise<FetchedCommit> {
    fs.mkdirSync(this.dir, { recursive: true });
    const abort = new AbortController();
    let reason = '';
    const stop = (why: string) => {
      if (!reason) reason = why;
      abort.abort();
    };
    const timer = setTimeout(() => stop(`took longer than ${Math.round(this.limits.timeoutMs / 1000)} s`), this.limits.timeoutMs);
    const onOuter = () => stop('stopped');
    outer?.addEventListener('abort', onOuter);
    const sizer = setInterval(() => {
      if (directoryBytes(this.dir, this.limits.maxBytes) > this.limits.maxBytes) stop(`is larger than ${Math.round(this.limits.maxBytes / 1048576)} MB`);
    }, 200);
    try {
      const git = this.git(abort.signal);
      if (!fs.existsSync(path.join(this.dir, '.git'))) {
        await git.init();
        await git.addRemote('origin', this.spec.url);
      } else {
        await git.remote(['set-url', 'origin', this.spec.url]);
      }
      const refspecs = ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'];
      if (!this.spec.ref) refspecs.unshift('+HEAD:refs/opslab/head');
      await git.raw(['fetch', '--quiet', '--no-tags', '--prune', '--no-recurse-submodules', '--no-write-fetch-head', 'origin', ...refspecs]);
      const commit = await this.resolve(git);
      await git.raw(['checkout', '--quiet', '--force', '--detach', commit]);
      await git.raw(['clean', '-q', '-ffdx']);
      if (directoryBytes(this.dir, this.limits.maxBytes) > this.limits.maxBytes) stop(`is larger than ${Math.round(this.limits.maxBytes / 1048576)} MB`);
      if (reason) throw new Error(reason);
      const work = path.join(this.dir, 'exercises');
      const exercisesDir = fs.lstatSync(work, { throwIfNoEntry: false })?.isDirectory() ? work : this.dir;
      return { commit, exercisesDir };
    } catch (err) {
      if (reason) {
        // A clone cut short is dropped: the next fetch starts over.
        if (!reason.startsWith('stopped')) fs.rmSync(path.dirname(this.dir), { recursive: true, force: true });
        throw new Error(`${this.label} ${reason}`);
      }
      throw new Error(`${this.label}: ${cleanGitError(err, this.spec.url)}`);
    } finally {
      clearTimeout(timer);
      clearInterval(sizer);
      outer?.removeEventListener('abort', onOuter);
    }
  }

  private async resolve(git: SimpleGit): Promise<string> {
    const ref = this.spec.ref;
    const candidates = !ref
      ? ['refs/opslab/head']
      : [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`, ...(COMMIT_PATTERN.test(ref) ? [ref] : [])];
    for (const c of candidates) {
      try {
        const sha = (await git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${c}^{commit}`])).trim();
        if (/^[0-9a-f]{40,64}$/.test(sha)) return sha;
      } catch {
        /* the next candidate */
      }
    }
    throw new Error(ref ? `no branch, tag or commit "${ref}"` : 'the remote has no HEAD (an empty repository?)');
  }
}

/** git's message, first lines only, with the URL as given replaced by its credential-free form. */
function cleanGitError(err: unknown, url: string): string {
  const text = (err as Error).message ?? String(err);
  const shown = displayGitUrl(url);
  return text.split(url).join(shown).replace(/(https?|ssh):\/\/[^/\s@]*@/gi, '$1://').split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 4).join(' ').slice(0, 500);
}
