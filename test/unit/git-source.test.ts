// OPSLAB_EXERCISES_GIT: parsing of `<url>[#ref]`, the credential-free form staff see, and a real fetch of a bare
// repository made here (file://): the ref's commit checked out, hooks not run, the size cap and an unknown ref refused.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GitSource, displayGitUrl, gitSourceLabel, parseGitSource, parseGitSources } from '../../server/src/exercises/git-source.js';

describe('OPSLAB_EXERCISES_GIT parsing', () => {
  it('reads URLs, paths and refs', () => {
    expect(parseGitSource('https://git.example.com/team/ex.git')).toEqual({ url: 'https://git.example.com/team/ex.git', ref: null });
    expect(parseGitSource('https://git.example.com/team/ex.git#release/2')).toEqual({ url: 'https://git.example.com/team/ex.git', ref: 'release/2' });
    expect(parseGitSource('ssh://git@git.example.com:2222/ex.git#v1.0')).toEqual({ url: 'ssh://git@git.example.com:2222/ex.git', ref: 'v1.0' });
    expect(parseGitSource('file:///srv/ex.git#0123abc')).toEqual({ url: 'file:///srv/ex.git', ref: '0123abc' });
    expect(parseGitSource('git@git.example.com:team/ex.git')).toEqual({ url: 'git@git.example.com:team/ex.git', ref: null });
    expect(parseGitSource('/srv/ex.git#main')).toEqual({ url: '/srv/ex.git', ref: 'main' });
    expect(parseGitSource('./ex.git', '/opt/opslab')).toEqual({ url: '/opt/opslab/ex.git', ref: null });
  });

  it('refuses other transports, relative paths and unsafe refs, with the reason', () => {
    expect(() => parseGitSource('http://git.example.com/ex.git')).toThrow(/only file:\/\/, https:\/\/ and ssh:\/\//);
    expect(() => parseGitSource('ext::sh -c touch% /tmp/pwned')).toThrow(/transport helpers/);
    expect(() => parseGitSource('git://git.example.com/ex.git')).toThrow(/only file/);
    expect(() => parseGitSource('ex.git')).toThrow(/neither/);
    expect(() => parseGitSource('/srv/ex.git#--upload-pack=touch')).toThrow(/not a branch, tag or commit/);
    expect(() => parseGitSource('/srv/ex.git#a..b')).toThrow(/not a branch/);
    expect(() => parseGitSource('/srv/ex.git#')).toThrow(/not a branch/);
    expect(() => parseGitSource('#main')).toThrow(/no repository/);
    expect(() => parseGitSource('file://host/srv/ex.git')).toThrow(/local path/);
  });

  it('takes several, comma- or whitespace-separated, and refuses one listed twice', () => {
    expect(parseGitSources('/a.git, /b.git#dev\n  https://x.example/c.git')).toHaveLength(3);
    expect(() => parseGitSources('/a.git /a.git')).toThrow(/listed twice/);
    expect(parseGitSources('/a.git /a.git#dev')).toHaveLength(2);
  });

  it('shows repositories without credentials', () => {
    expect(displayGitUrl('https://deploy:s3cret@git.example.com/team/ex.git')).toBe('https://git.example.com/team/ex.git');
    expect(displayGitUrl('https://ghp_TOKEN@git.example.com/ex.git?private_token=x')).toBe('https://git.example.com/ex.git');
    expect(displayGitUrl('ssh://git:pw@git.example.com:2222/ex.git')).toBe('ssh://git@git.example.com:2222/ex.git');
    expect(displayGitUrl('git:pw@git.example.com:ex.git')).toBe('git@git.example.com:ex.git');
    expect(displayGitUrl('file:///srv/ex.git')).toBe('file:///srv/ex.git');
    expect(displayGitUrl('/srv/ex.git')).toBe('/srv/ex.git');
    expect(gitSourceLabel(parseGitSource('https://u:p@h.example/x.git#main'))).toBe('https://h.example/x.git#main');
  });
});

describe('GitSource.fetch (real git, a bare repository served over file://)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-git-source-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=t@example.test', ...args], { cwd, encoding: 'utf8' }).trim();
  const bare = path.join(tmp, 'ex.git');
  const work = path.join(tmp, 'work');
  git(tmp, 'init', '-q', '--bare', '-b', 'main', bare);
  git(tmp, 'clone', '-q', bare, work);
  fs.mkdirSync(path.join(work, 'exercises', 'one'), { recursive: true });
  fs.writeFileSync(path.join(work, 'exercises', 'one', 'README.md'), 'first\n');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'first');
  git(work, 'tag', 'v1');
  git(work, 'push', '-q', 'origin', 'main', 'v1');
  const first = git(work, 'rev-parse', 'HEAD');
  const limits = { timeoutMs: 30_000, maxBytes: 50 * 1024 * 1024 };

  it('checks out the remote HEAD, then a new commit; a tag stays where it is; exercises/ is the exercises directory', async () => {
    const head = new GitSource(parseGitSource(`file://${bare}`), path.join(tmp, 'data'), limits);
    const tag = new GitSource(parseGitSource(`file://${bare}#v1`), path.join(tmp, 'data'), limits);
    const a = await head.fetch();
    expect(a.commit).toBe(first);
    expect(a.exercisesDir).toBe(path.join(head.dir, 'exercises'));
    expect(fs.readFileSync(path.join(a.exercisesDir, 'one', 'README.md'), 'utf8')).toBe('first\n');
    fs.writeFileSync(path.join(work, 'exercises', 'one', 'README.md'), 'second\n');
    git(work, 'commit', '-q', '-am', 'second');
    git(work, 'push', '-q', 'origin', 'main');
    const b = await head.fetch();
    expect(b.commit).toBe(git(work, 'rev-parse', 'HEAD'));
    expect(fs.readFileSync(path.join(b.exercisesDir, 'one', 'README.md'), 'utf8')).toBe('second\n');
    expect((await tag.fetch()).commit).toBe(first);
    const bySha = new GitSource(parseGitSource(`${bare}#${first.slice(0, 10)}`), path.join(tmp, 'data'), limits);
    expect((await bySha.fetch()).commit).toBe(first);
  });

  it('runs no hook of the host or of the clone', async () => {
    const src = new GitSource(parseGitSource(`file://${bare}`), path.join(tmp, 'data2'), limits);
    await src.fetch();
    const marker = path.join(tmp, 'hook-ran');
    fs.writeFileSync(path.join(src.dir, '.git', 'hooks', 'post-checkout'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(work, 'x'), 'x');
    git(work, 'add', 'x');
    git(work, 'commit', '-q', '-m', 'x');
    git(work, 'push', '-q', 'origin', 'main');
    await src.fetch();
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('refuses an unknown ref and a clone past the size cap, naming the repository without credentials', async () => {
    await expect(new GitSource(parseGitSource(`${bare}#nope`), path.join(tmp, 'data3'), limits).fetch()).rejects.toThrow(/no branch, tag or commit "nope"/);
    const big = new GitSource(parseGitSource(`file://${bare}`), path.join(tmp, 'data4'), { timeoutMs: 30_000, maxBytes: 1024 });
    await expect(big.fetch()).rejects.toThrow(/is larger than/);
    await expect(new GitSource(parseGitSource(`file://${tmp}/missing.git`), path.join(tmp, 'data5'), limits).fetch()).rejects.toThrow(/missing\.git/);
  });

  it('stops a fetch past its time limit (a remote that never answers), without a prompt', async () => {
    // A TCP peer on loopback that accepts and says nothing: ssh waits for its banner until the time limit stops it.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const src = new GitSource(parseGitSource(`ssh://git@127.0.0.1:${port}/ex.git`), path.join(tmp, 'data6'), { timeoutMs: 1500, maxBytes: 50 * 1024 * 1024 });
      const t0 = Date.now();
      await expect(src.fetch()).rejects.toThrow(/ssh:\/\/git@127\.0\.0\.1:\d+\/ex\.git took longer than 2 s/);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      silent.close();
    }
  });
});
