import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultTitle, render, TEMPLATE_DIR } from '../../server/src/cli/scaffold/scaffold.js';
import { ExerciseCatalog } from '../../server/src/exercises/catalog.js';
import { repoRoot } from '../../server/src/paths.js';

describe('exercise scaffold', () => {
  it('replaces every placeholder and refuses an unknown one', () => {
    expect(render('id: {{id}}\ntitle: {{title_yaml}}', { id: 'a-b', title_yaml: '"A: b"' }, 'f')).toBe('id: a-b\ntitle: "A: b"');
    expect(() => render('{{id}} {{nope}}', { id: 'x' }, 'template/f')).toThrow('template/f: unknown placeholder {{nope}}');
  });

  it('titles an exercise after its id by default', () => {
    expect(defaultTitle('disk-full')).toBe('Disk full');
    expect(defaultTitle('ab')).toBe('Exercise ab');
  });

  it('keeps its template where no catalog loads it', () => {
    expect(fs.existsSync(path.join(TEMPLATE_DIR(), 'exercise.yaml'))).toBe(true);
    const catalog = ExerciseCatalog.load(path.join(repoRoot(), 'exercises'));
    expect(catalog.list().map((e) => e.dir).filter((d) => d.startsWith(TEMPLATE_DIR()))).toEqual([]);
    expect(path.relative(path.join(repoRoot(), 'exercises'), TEMPLATE_DIR()).startsWith('..')).toBe(true);
  });
});
