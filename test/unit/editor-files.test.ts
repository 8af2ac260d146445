// The editor's pure parts: the `editor` flag in the catalog, the roots, which paths may be named, the save event's
// diff, the language by file name.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { editorLanguage, FILE_LIMITS } from '../../contract/files.js';
import { ExerciseCatalog, formatProblem } from '../../server/src/exercises/catalog.js';
import { editorRoots, rootOf, savedEvent } from '../../server/src/workspace-files/files-service.js';
import { tempDataDir } from '../helpers/server.js';

const dirs: string[] = [];
function catalogWith(extra: string): ExerciseCatalog {
  const root = tempDataDir();
  dirs.push(root);
  fs.mkdirSync(path.join(root, 'demo-one'));
  fs.writeFileSync(
    path.join(root, 'demo-one', 'exercise.yaml'),
    `id: demo-one\ntitle: Demo one\nsummary: A demo exercise for the editor tests.\ndifficulty: easy\ntimeLimitMinutes: 10\nimage: base\n${extra}`,
  );
  fs.writeFileSync(path.join(root, 'demo-one', 'README.md'), '# Demo\n');
  return ExerciseCatalog.load(root);
}

describe('editor', () => {
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('is on unless exercise.yaml says `editor: false`; anything but a boolean is a problem', () => {
    expect(catalogWith('').get('demo-one')?.editor).toBe(true);
    expect(catalogWith('editor: false\n').get('demo-one')?.editor).toBe(false);
    const bad = catalogWith('editor: "no"\n');
    expect(bad.list()).toEqual([]);
    expect(bad.problems.map(formatProblem).join('\n')).toContain('editor');
  });

  it('roots: the workspace and the collected paths, normalised, nested ones left out, never /', () => {
    expect(editorRoots({ workspace: '/root/work', collect: ['/root/work'] })).toEqual(['/root/work']);
    expect(editorRoots({ workspace: '/root/work/', collect: ['/root/work/sub', '/etc/app', '/'] })).toEqual(['/etc/app', '/root/work']);
  });

  it('names only clean absolute paths strictly under a root', () => {
    const roots = ['/root/work', '/srv/app'];
    expect(rootOf('/root/work/a/b.tf', roots)).toBe('/root/work');
    expect(rootOf('/srv/app/x', roots)).toBe('/srv/app');
    for (const bad of ['/root/work', '/root/workshop/x', 'root/work/x', '/root/work/../etc/x', '/root/work/./x', '/root/work//x', '/root/work/x/', '/root/work/a\nb', '/etc/shadow']) {
      expect(() => rootOf(bad, roots), bad).toThrow();
    }
  });

  it('a save event carries a unified diff, cut at its limit', () => {
    const small = savedEvent('/root/work/a.yml', 'a: 1\n', 'a: 2\n', 5, false);
    expect(small.diff).toContain('--- /root/work/a.yml');
    expect(small.diff).toContain('-a: 1');
    expect(small.diff).toContain('+a: 2');
    expect(small.diff).not.toContain('====');
    expect(small.diffCut).toBe(false);
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    const big = savedEvent('/root/work/b.txt', '', lines, lines.length, true);
    expect(big.diffCut).toBe(true);
    expect(big.diff.length).toBe(FILE_LIMITS.diffMaxChars);
  });

  it('picks the highlighting by file name', () => {
    expect(editorLanguage('/root/work/main.tf')).toBe('hcl');
    expect(editorLanguage('/root/work/.gitlab-ci.yml')).toBe('yaml');
    expect(editorLanguage('/root/work/Dockerfile')).toBe('dockerfile');
    expect(editorLanguage('/root/work/build.sh')).toBe('shell');
    expect(editorLanguage('/root/work/app.py')).toBe('python');
    expect(editorLanguage('/root/work/NOTES.md')).toBe('markdown');
    expect(editorLanguage('/root/work/Makefile')).toBe('plain');
  });
});
