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
    // latency-slo's checks each wait only for the clean room they read.
    expect(catalog.get('latency-slo')?.checks.map((c) => [c.id, c.needs])).toContainEqual(['slo-met', ['slo']]);
  });

  it('loads a valid exercise', () => {
    const catalog = catalogWith({
      'demo-one/exercise.yaml': valid,
      'demo-one/README.md': '# Demo\n',
      // A scaffold half written: hidden directories are not exercises.
      '.demo-two.new-1/exercise.yaml': 'id: [unclosed',
    });
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

  it('checks what clean-room jobs bring, and counts it in the exercise version', () => {
    const yaml = (bring: string) => `${valid}checks:
  - { id: one, title: The one check, points: 1, advisory: true }
cleanroom:
  - { id: job, image: base, copy: /root/work, hidden: hidden/room, run: "true", bring: ${bring} }
`;
    const write = (bring: string) => {
      const root = tempDataDir();
      dirs.push(root);
      const files: Record<string, [string, number]> = {
        'exercise.yaml': [yaml(bring), 0o644],
        'README.md': ['# Demo\n', 0o644],
        'hidden/room/run.sh': ['true\n', 0o644],
        'hidden/room/taken/x': ['x\n', 0o644],
        'files/a.txt': ['a\n', 0o644],
        'checks/one': ['#!/bin/sh\n', 0o755],
        'solution/apply': ['#!/bin/sh\n', 0o755],
      };
      for (const [name, [content, mode]] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(root, 'demo-one', name)), { recursive: true });
        fs.writeFileSync(path.join(root, 'demo-one', name), content, { mode });
      }
      return root;
    };
    const load = (bring: string) => ExerciseCatalog.load(write(bring));
    // Never the answers: refused by the schema.
    expect(load('[{ from: solution, to: s }]').problems.map(formatProblem)).toContainEqual(
      expect.stringMatching(/cleanroom\.0\.bring\.0\.from: must match pattern/),
    );
    expect(load('[{ from: wrong/x, to: s }]').problems.map(formatProblem)).toContainEqual(
      expect.stringMatching(/cleanroom\.0\.bring\.0\.from: must match pattern/),
    );
    expect(load('[{ from: files, to: ../up }]').problems.map(formatProblem)).toContainEqual(
      expect.stringMatching(/cleanroom\.0\.bring\.0\.to: must match pattern/),
    );

    const messages = load('[{ from: files, to: taken }, { from: missing, to: m }, { from: files, to: m/n }]').problems.map(formatProblem);
    expect(messages).toContainEqual(expect.stringMatching(/cleanroom\.0\.bring\.0\.to: would cover hidden\/room\/taken/));
    expect(messages).toContainEqual(expect.stringMatching(/cleanroom\.0\.bring\.1\.from: must be a directory of the exercise \(missing\)/));
    expect(messages).toContainEqual(expect.stringMatching(/cleanroom\.0\.bring\.2\.to: overlaps another directory/));

    const root = write('[{ from: files, to: original }]');
    const loaded = ExerciseCatalog.load(root);
    expect(loaded.problems).toEqual([]);
    const ex = loaded.get('demo-one')!;
    expect(ex.checks[0]!.advisory).toBe(true);
    expect(ex.cleanroom[0]!.bring).toEqual([{ from: 'files', to: 'original' }]);
    fs.writeFileSync(path.join(root, 'demo-one/files/a.txt'), 'changed\n');
    expect(ExerciseCatalog.load(root).get('demo-one')!.version).not.toBe(ex.version);
  });

  it('checks that a check needs only clean-room jobs the exercise declares', () => {
    const yaml = (needs: string) => `${valid}checks:
  - { id: one, title: The one check, points: 1, needs: ${needs} }
  - { id: two, title: The other check, points: 1 }
cleanroom:
  - { id: job, image: base, copy: /root/work, run: "true" }
`;
    const load = (needs: string) =>
      catalogWith({ 'demo-one/exercise.yaml': yaml(needs), 'demo-one/README.md': '# Demo\n' });
    expect(load('[job]').problems.map(formatProblem).filter((p) => p.includes('needs'))).toEqual([]);
    expect(load('[job, nope]').problems.map(formatProblem)).toContainEqual(expect.stringMatching(/checks\.0\.needs: names no clean-room job "nope"/));
    expect(load('[job, job]').problems.map(formatProblem)).toContainEqual(expect.stringMatching(/checks\.0\.needs: must NOT have duplicate items/));
    expect(load('[Job]').problems.map(formatProblem)).toContainEqual(expect.stringMatching(/checks\.0\.needs\.0: must match pattern/));
  });
});
