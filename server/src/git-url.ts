// OPSLAB_EXERCISES_GIT items: `<url>[#ref]` parsed and checked, and the form staff and logs see (no credentials).
// Pure, at the bottom layer: config.ts reads the setting with it; exercises/git-source.ts fetches.
import path from 'node:path';

/** One repository the exercises come from: `<url>[#ref]` of OPSLAB_EXERCISES_GIT. */
export interface GitSourceSpec {
  /** What git is given: a file://, https:// or ssh:// URL, `user@host:path`, or an absolute local path. */
  url: string;
  /** A branch, a tag or a commit; null: the remote's HEAD. */
  ref: string | null;
}

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
    if (scheme === 'file:' && (url.host !== '' || url.username !== '')) throw new Error(`"${displayGitUrl(location)}": a file:// URL names a local path (file:///srv/repo.git)`);
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
