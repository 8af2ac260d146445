import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { ArchiveWriter, GRADER_UID } from '../../server/src/grading/archive.js';
import { sanitiseGitConfig } from '../../server/src/grading/git-config.js';
import { readTarEntries } from '../helpers/tar.js';

type E = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device'; content?: string | Buffer; linkname?: string; mode?: number };

/** A tar as the engine's archive API gives it for `/root/work`: entries named work/... */
function tarOf(entries: E[]): Readable {
  const pack = tarStream.pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = type === 'file' ? Buffer.from(e.content ?? '') : undefined;
    pack.entry(
      { name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), linkname: e.linkname, uid: 0, gid: 0, ...(body ? { size: body.length } : {}) },
      body ?? Buffer.alloc(0),
    );
  }
  pack.finalize();
  return Readable.from(pack as unknown as AsyncIterable<Buffer>);
}

async function read(tar: Readable) {
  const out = new Map<string, { type: string; linkname: string; content: string; size: number; uid: number; mode: number }>();
  for (const e of await readTarEntries(tar)) {
    out.set(e.name, { type: e.type, linkname: e.linkname ?? '', content: e.body.toString(), size: e.body.length, uid: e.uid, mode: e.mode });
  }
  return out;
}

async function sanitise(entries: E[], opts: { roots?: string[]; maxFileBytes?: number } = {}) {
  const roots = opts.roots ?? ['/root/work'];
  const writer = new ArchiveWriter({ mode: 'grader', prefix: 'sandbox', roots, ...(opts.maxFileBytes ? { maxFileBytes: opts.maxFileBytes } : {}) });
  const result = read(writer.stream());
  await writer.ensureDir('/root');
  await writer.addArchive('/root/work', tarOf(entries));
  await writer.addFile('/.opslab-links', writer.links.map((l) => `${l}\n`).join(''));
  writer.finalize();
  return { files: await result, writer };
}

describe('the grader copy of the candidate files', () => {
  it('replaces links that leave the copy, lists them, and makes links inside relative', async () => {
    const { files, writer } = await sanitise([
      { name: 'work', type: 'directory' },
      { name: 'work/a.txt', content: 'A' },
      { name: 'work/sub', type: 'directory' },
      { name: 'work/abs-out', type: 'symlink', linkname: '/exercise/hidden/secret' },
      { name: 'work/rel-out', type: 'symlink', linkname: '../../exercise/hidden/secret' },
      { name: 'work/sub/deep-out', type: 'symlink', linkname: '../../../../../../etc/shadow' },
      { name: 'work/abs-in', type: 'symlink', linkname: '/root/work/a.txt' },
      { name: 'work/sub/rel-in', type: 'symlink', linkname: '../a.txt' },
      { name: 'work/dot', type: 'symlink', linkname: '.' },
      // Lexically inside, but through `dot` (= .) it would climb six levels in the kernel's eyes.
      { name: 'work/sneaky', type: 'symlink', linkname: 'dot/dot/dot/dot/dot/dot/../../../../../../exercise/hidden/secret' },
      { name: 'work/parent', type: 'symlink', linkname: '..' },
      { name: 'work/empty', type: 'symlink', linkname: '' },
    ]);
    expect(files.get('sandbox/root/work/abs-out')).toMatchObject({ type: 'file', size: 0 });
    expect(files.get('sandbox/root/work/rel-out')).toMatchObject({ type: 'file', size: 0 });
    expect(files.get('sandbox/root/work/sub/deep-out')).toMatchObject({ type: 'file', size: 0 });
    expect(files.get('sandbox/root/work/parent')).toMatchObject({ type: 'file', size: 0 });
    expect(files.get('sandbox/root/work/empty')).toMatchObject({ type: 'file', size: 0 });
    expect(files.get('sandbox/root/work/abs-in')).toMatchObject({ type: 'symlink', linkname: 'a.txt' });
    expect(files.get('sandbox/root/work/sub/rel-in')).toMatchObject({ type: 'symlink', linkname: '../a.txt' });
    expect(files.get('sandbox/root/work/dot')).toMatchObject({ type: 'symlink', linkname: '.' });
    // Rewritten without any `..` after a name: it cannot climb through `dot`.
    expect(files.get('sandbox/root/work/sneaky')).toMatchObject({ type: 'symlink', linkname: 'exercise/hidden/secret' });
    expect(writer.links).toEqual([
      '/root/work/abs-out -> /exercise/hidden/secret',
      '/root/work/rel-out -> ../../exercise/hidden/secret',
      '/root/work/sub/deep-out -> ../../../../../../etc/shadow',
      '/root/work/parent -> ..',
      '/root/work/empty -> ',
    ]);
    expect(files.get('sandbox/.opslab-links')!.content).toContain('/root/work/abs-out -> /exercise/hidden/secret\n');
    // Every relative link target has its `..` steps at the front only.
    for (const [, f] of files) {
      if (f.type !== 'symlink' || f.linkname === '.') continue;
      const parts = f.linkname.split('/');
      const firstName = parts.findIndex((p) => p !== '..');
      if (firstName >= 0) expect(parts.slice(firstName).filter((p) => p === '..' || p === '.' || p === '')).toEqual([]);
    }
  });

  it('drops FIFOs and devices, cuts big files, keeps hard links to copied files, owns everything as the grader', async () => {
    const { files, writer } = await sanitise(
      [
        { name: 'work', type: 'directory', mode: 0o700 },
        { name: 'work/fifo', type: 'fifo' },
        { name: 'work/tty', type: 'character-device' },
        { name: 'work/big', content: 'x'.repeat(5000) },
        { name: 'work/private', content: 'p', mode: 0o4000 },
        { name: 'work/hard', type: 'link', linkname: 'work/private' },
        { name: 'work/hard-to-nothing', type: 'link', linkname: 'work/fifo' },
      ],
      { maxFileBytes: 1000 },
    );
    expect(files.has('sandbox/root/work/fifo')).toBe(false);
    expect(files.has('sandbox/root/work/tty')).toBe(false);
    expect(files.has('sandbox/root/work/hard-to-nothing')).toBe(false);
    expect(files.get('sandbox/root/work/big')!.size).toBe(1000);
    expect(writer.truncated).toEqual(['/root/work/big 5000']);
    expect(files.get('sandbox/root/work/hard')).toMatchObject({ type: 'link', linkname: 'sandbox/root/work/private' });
    expect(files.get('sandbox/root/work/private')).toMatchObject({ uid: GRADER_UID, mode: 0o600 });
    expect(files.get('sandbox/root/work')).toMatchObject({ type: 'directory', uid: GRADER_UID });
    expect(writer.dropped.sort()).toEqual([
      '/root/work/fifo (fifo)',
      '/root/work/hard-to-nothing (hard link to work/fifo)',
      '/root/work/tty (character-device)',
    ]);
  });

  it('never writes below something that is not a directory, and ignores names that climb', async () => {
    const { files } = await sanitise([
      { name: 'work', type: 'directory' },
      { name: 'work/x', type: 'symlink', linkname: '/exercise' },
      { name: 'work/x/secret', content: 'through the link' },
      { name: 'work/../../escape', content: 'climb' },
      { name: '/etc/passwd', content: 'absolute' },
    ]);
    expect([...files.keys()].filter((n) => n.includes('secret') || n.includes('escape') || n.includes('passwd'))).toEqual([]);
  });

  it('reduces repository git configuration to inert keys and refuses gitfiles that point elsewhere', async () => {
    const { files } = await sanitise([
      { name: 'work', type: 'directory' },
      { name: 'work/repo/.git/config', content: '[core]\n\tfsmonitor = touch /tmp/pwned\n\tbare = false\n[remote "origin"]\n\turl = https://example.com/r.git\n' },
      { name: 'work/sub/.git', content: 'gitdir: ../evil\n' },
      { name: 'work/mod/.git', content: 'gitdir: ../repo/.git/modules/mod\n' },
      { name: 'work/notgit/config', content: '[core]\n\tfsmonitor = kept-as-data\n' },
    ]);
    expect(files.get('sandbox/root/work/repo/.git/config')!.content).toBe(
      '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://example.com/r.git\n',
    );
    expect(files.get('sandbox/root/work/sub/.git')!.content).toBe('');
    expect(files.get('sandbox/root/work/mod/.git')!.content).toBe('gitdir: ../repo/.git/modules/mod\n');
    expect(files.get('sandbox/root/work/notgit/config')!.content).toContain('kept-as-data');
  });
});

describe('sanitiseGitConfig', () => {
  it('keeps plain data and drops everything that can run a command or read elsewhere', () => {
    const text = [
      '[core]',
      '\trepositoryformatversion = 0',
      '\tfsmonitor = sh -c evil',
      '\thooksPath = /tmp/hooks',
      '\tworktree = /exercise',
      '\tpager = evil',
      '\tsshCommand = evil',
      '[core] editor = evil',
      '[include]',
      '\tpath = /exercise/hidden/x',
      '[includeIf "gitdir:/"]',
      '\tpath = x',
      '[diff "evil"]',
      '\ttextconv = evil',
      '[filter "evil"]',
      '\tclean = evil',
      '[alias]',
      '\tst = !evil',
      '[remote "origin"]',
      '\turl = git@example.com:r.git',
      '\tuploadpack = evil',
      '\tfetch = +refs/heads/*:refs/remotes/origin/*',
      '[branch "main"]',
      '\tremote = origin',
      '\tmerge = refs/heads/main',
      '[user]',
      '\tname = Someone',
      '[core.fsmonitor]',
      '\tx = y',
      '[Core]',
      '\tFsMonitor = evil \\',
      '\tstill the value',
      '\tbare = false',
      '[core]',
      '\tignorecase = true \\',
      '   continued',
      '[submodule "m"]',
      '\tupdate = !evil',
      '\turl = ../m',
    ].join('\n');
    expect(sanitiseGitConfig(text)).toBe(
      [
        '[core]',
        '\trepositoryformatversion = 0',
        '[core]',
        '[remote "origin"]',
        '\turl = git@example.com:r.git',
        '\tfetch = +refs/heads/*:refs/remotes/origin/*',
        '[branch "main"]',
        '\tremote = origin',
        '\tmerge = refs/heads/main',
        '[user]',
        '\tname = Someone',
        '[core]',
        '\tbare = false',
        '[core]',
        '\tignorecase = true \\',
        '   continued',
        '[submodule "m"]',
        '\turl = ../m',
        '',
      ].join('\n'),
    );
    expect(sanitiseGitConfig(text)).not.toMatch(/evil|exercise|hooks|still the value/);
  });
});
