import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExerciseCatalog, formatProblem } from '../../server/src/exercises/catalog.js';
import { repoRoot } from '../../server/src/paths.js';
import { tempDataDir } from '../helpers/server.js';

const dirs: string[] = [];
function catalogWith(files: Record<string, string>): ExerciseCatalog {
  const root = tempDataDir();
  dirs.push(root);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  return ExerciseCatalog.load(root);
}

const valid = `id: demo-one
title: Demo one
summary: A demo exercise for the tests.
difficulty: easy
timeLimitMinutes: 10
image: base
`;

describe('exercise catalog', () => {
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('loads the exercises shipped in the repository without problems', () => {
    const catalog = ExerciseCatalog.load(path.join(repoRoot(), 'exercises'), {
      imageExists: (image) => fs.existsSync(path.join(repoRoot(), 'sandboxes', image, 'Dockerfile')),
    });
    expect(catalog.problems.map(formatProblem)).toEqual([]);
    expect(catalog.list().length).toBeGreaterThan(0);
    expect(catalog.get('shell-warmup')?.instructions).toContain('# Shell warm-up');
  });

  it('loads a valid exercise', () => {
    const catalog = catalogWith({ 'demo-one/exercise.yaml': valid, 'demo-one/README.md': '# Demo\n' });
    expect(catalog.problems).toEqual([]);
    expect(catalog.get('demo-one')).toMatchObject({ timeLimitMinutes: 10, skills: [], limits: {} });
  });

  it('names the file and the field of every problem', () => {
    const catalog = catalogWith({
      'demo-one/exercise.yaml': valid.replace('timeLimitMinutes: 10', 'timeLimitMinutes: ten').replace('difficulty: easy', 'difficulty: trivial') + 'colour: blue\n',
      'demo-one/README.md': '# Demo\n',
      'demo-two/exercise.yaml': valid.replace('demo-one', 'demo-other'),
      'demo-two/README.md': '# Demo\n',
      'demo-three/exercise.yaml': 'id: [unclosed',
      'demo-four/exercise.yaml': valid.replace('demo-one', 'demo-four'),
    });
    expect(catalog.list()).toEqual([]);
    const messages = catalog.problems.map(formatProblem);
    expect(messages).toContainEqual(expect.stringMatching(/demo-one\/exercise\.yaml: timeLimitMinutes: must be integer/));
    expect(messages).toContainEqual(expect.stringMatching(/demo-one\/exercise\.yaml: difficulty: must be one of easy, medium, hard/));
    expect(messages).toContainEqual(expect.stringMatching(/demo-one\/exercise\.yaml: colour: is not a known field/));
    expect(messages).toContainEqual(expect.stringMatching(/demo-two\/exercise\.yaml: id: must equal the directory name "demo-two"/));
    expect(messages).toContainEqual(expect.stringMatching(/demo-three\/exercise\.yaml: is not valid YAML \(line 1\)/));
    expect(messages).toContainEqual(expect.stringMatching(/demo-four\/README\.md: is missing/));
  });
});
