// Exercises from a git repository (OPSLAB_EXERCISES_GIT): where it is, which ref, and a clone of it in the data
// directory, fetched and checked out with git's own hooks and prompts turned off, within a time limit and a size cap.
// What is in the checkout is only read; publish.ts decides what of it is served.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

/** One repository the exercises come from: `<url>[#ref]` of OPSLAB_EXERCISES_GIT. */
export interface GitSourceSpec {
  /** What git is given: a file://, https:// or ssh:// URL, `user@host:path`, or an absolute local path. */
  url: string;
  /** A branch, a tag or a commit; null: the remote's HEAD. */
  ref: string | null;
}

/** The directory under the data directory that holds the clones. */
export const EXERCISE_SOURCES_DIR = 'exercise-sources';

const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)/;
const REF_PATTERN = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)(?!.*\/$)[A-Za-z0-9._/-]{1,200}$/;
/** A commit named by (a prefix of) its hash. */
export const COMMIT_PATTERN = /^[0-9a-f]{7,64}$/;

/**
 * Parses one item of OPSLAB_EXERCISES_GIT. Throws an Error saying what is wrong (config.ts names the variable):
 * an unknown scheme (http://, ext::, ...), a relative path, an empty or unsafe ref.
 */
export function parseGitSource(item: string, cwd = process.cwd()): GitSourceSpec {
  const text = item.trim();
  if (text === '') throw new Error('an item is empty');
  const hash = text.lastIndexOf('#');
  const location = hash >= 0 ? text.slice(0, hash) : text;
  const ref = hash >= 0 ? text.slice(hash + 1) : null;
  if (ref !== null && !REF_PATTERN.test(ref)) {
    throw new Error(`"${ref}" is not a branch, tag or commit name (letters, digits, . _ / -; not starting with -)`);
  }
  if (location === '') throw new Error('an item has a ref but no repository');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      throw new Error(`"${displayGitUrl(location)}" is not a valid URL`);
    }
    const scheme = url.protocol.toLowerCase();
    if (scheme !== 'file:' && scheme !== 'https:' && scheme !== 'ssh:') {
      throw new Error(`"${displayGitUrl(location)}": only file://, https:// and ssh:// repositories (or a local path) are allowed`);
    }
    if (scheme === 'file:' && (url.host !== '' || url.username !== '')) throw new Error(`"${location}": a file:// URL names a local path (file:///srv/repo.git)`);
    return { url: location, ref };
  }
  if (location.includes('::')) throw new Error(`"${displayGitUrl(location)}": git's transport helpers (<helper>::) are not allowed`);
  if (SCP_LIKE.test(location)) return { url: location, ref };
  if (path.isAbsolute(location) || location.startsWith('./') || location.startsWith('../')) {
    return { url: path.resolve(cwd, location), ref };
  }
  throw new Error(`"${displayGitUrl(location)}" is neither a file://, https:// or ssh:// URL nor a path (absolute, or starting with ./)`);
}

/** OPSLAB_EXERCISES_GIT: several items, comma- or whitespace-separated; the same repository and ref twice is refused. */
export function parseGitSources(raw: string, cwd = process.cwd()): GitSourceSpec[] {
  const specs = raw
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map((s) => parseGitSource(s, cwd));
  const seen = new Set<string>();
  for (const s of specs) {
    const key = `${s.url}#${s.ref ?? ''}`;
    if (seen.has(key)) throw new Error(`"${gitSourceLabel(s)}" is listed twice`);
    seen.add(key);
  }
  return specs;
}

/**
 * A repository's address as staff see it and logs print it: without a password or token (the user of an https URL
 * is often a token too, so it goes; an ssh user such as `git` stays), without query or fragment.
 */
export function displayGitUrl(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      const u = new URL(url);
      const scheme = u.protocol.toLowerCase();
      const user = scheme === 'ssh:' && u.username ? `${u.username}@` : '';
      if (scheme === 'file:') return `file://${u.pathname}`;
      return `${scheme}//${user}${u.host}${u.pathname}`;
    } catch {
      // Not parsable: cut everything between the scheme and the last @ before the path.
      return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1').replace(/[?#].*$/, '');
    }
  }
  // user:password@host:path (scp-like) keeps the user only.
  return url.replace(/^([^@/:]+):[^@/]*@/, '$1@');
}

/** `<url without credentials>[#ref]`. */
export function gitSourceLabel(spec: GitSourceSpec): string {
  return `${displayGitUrl(spec.url)}${spec.ref ? `#${spec.ref}` : ''}`;
}

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
