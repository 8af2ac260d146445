/**
 * Git configuration a candidate wrote can make git run commands (core.fsmonitor, core.hooksPath, diff/filter/merge
 * drivers, aliases, gpg.program, include.path...) or read other directories (core.worktree). In the grader, checks
 * run git on the candidate's copy, so every repository config is reduced to keys that are plain data. Unknown or
 * unparseable lines are dropped.
 */
const ALLOWED: Record<string, { sub: 'none' | 'any' | 'either'; keys: Set<string> }> = {
  core: {
    sub: 'none',
    keys: new Set([
      'repositoryformatversion',
      'filemode',
      'bare',
      'logallrefupdates',
      'ignorecase',
      'precomposeunicode',
      'symlinks',
      'autocrlf',
      'eol',
      'safecrlf',
      'abbrev',
    ]),
  },
  extensions: { sub: 'none', keys: new Set(['objectformat', 'refstorage']) },
  remote: { sub: 'any', keys: new Set(['url', 'pushurl', 'fetch', 'push', 'tagopt', 'mirror', 'prune']) },
  branch: { sub: 'any', keys: new Set(['remote', 'merge', 'rebase', 'pushremote', 'description']) },
  user: { sub: 'none', keys: new Set(['name', 'email']) },
  author: { sub: 'none', keys: new Set(['name', 'email']) },
  committer: { sub: 'none', keys: new Set(['name', 'email']) },
  init: { sub: 'none', keys: new Set(['defaultbranch']) },
  pull: { sub: 'none', keys: new Set(['rebase', 'ff']) },
  push: { sub: 'none', keys: new Set(['default', 'autosetupremote']) },
  submodule: { sub: 'any', keys: new Set(['url', 'path', 'branch', 'active']) },
};

const HEADER = /^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\\n]|\\.)*)")?\s*\](.*)$/;
const KEY = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=(.*))?$/;

export function sanitiseGitConfig(text: string): string {
  const out: string[] = [];
  let section: string | null = null;
  let allowed = false;
  // Inside a value continued with a trailing backslash: whether that value is being kept.
  let continuation: boolean | null = null;
  for (const raw of text.split(/\r?\n/)) {
    let line = raw;
    if (continuation !== null) {
      if (continuation) out.push(line);
      if (!continues(line)) continuation = null;
      continue;
    }
    const header = HEADER.exec(line);
    if (header) {
      let name = header[1]!.toLowerCase();
      let sub: string | undefined = header[2];
      // Deprecated [section.subsection] syntax.
      if (sub === undefined && name.includes('.')) {
        const dot = name.indexOf('.');
        sub = name.slice(dot + 1);
        name = name.slice(0, dot);
      }
      const rule = ALLOWED[name];
      allowed = !!rule && (rule.sub === 'any' ? sub !== undefined : sub === undefined);
      section = name;
      if (allowed) out.push(sub === undefined ? `[${name}]` : `[${name} "${sub}"]`);
      line = header[3] ?? '';
    }
    if (/^\s*([#;].*)?$/.test(line)) continue;
    const key = KEY.exec(line);
    const keep = !!key && !!section && allowed && ALLOWED[section]!.keys.has(key[1]!.toLowerCase());
    if (keep) out.push(`\t${line.trim()}`);
    if (continues(line)) continuation = keep;
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** A line whose value goes on to the next line (an odd number of trailing backslashes). */
function continues(line: string): boolean {
  const m = /(\\+)$/.exec(line);
  return !!m && m[1]!.length % 2 === 1;
}
