// Where exercises are offered: exercise.yaml `modes`, the operator's OPSLAB_PRACTICE_EXERCISES over them, and what
// an invite's landing page may say (OPSLAB_INVITE_LANDING).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parsePracticeExercises } from '../../server/src/config.js';
import { ExerciseCatalog, formatProblem } from '../../server/src/exercises/catalog.js';
import { repoRoot } from '../../server/src/paths.js';
import { practiceOffer } from '../../server/src/practice/offer.js';
import { tempDataDir } from '../helpers/server.js';

const dirs: string[] = [];
function catalogWith(exercises: Record<string, string>): ExerciseCatalog {
  const root = tempDataDir();
  dirs.push(root);
  for (const [id, extra] of Object.entries(exercises)) {
    fs.mkdirSync(path.join(root, id));
    fs.writeFileSync(
      path.join(root, id, 'exercise.yaml'),
      `id: ${id}\ntitle: Exercise ${id}\nsummary: A demo exercise for the tests.\ndifficulty: easy\ntimeLimitMinutes: 10\nimage: base\n${extra}`,
    );
    fs.writeFileSync(path.join(root, id, 'README.md'), `# ${id}\n`);
  }
  return ExerciseCatalog.load(root);
}

const HIRING = ['ci-triage', 'latency-slo', 'terraform-review'];

describe('exercise modes', () => {
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('reads modes from exercise.yaml, both when not declared', () => {
    const catalog = catalogWith({ 'only-interview': 'modes: [interview]\n', 'only-practice': 'modes: [practice]\n', 'no-modes': '' });
    expect(catalog.problems).toEqual([]);
    expect(catalog.get('only-interview')!.modes).toEqual(['interview']);
    expect(catalog.get('only-practice')!.modes).toEqual(['practice']);
    expect(catalog.get('no-modes')!.modes).toEqual(['interview', 'practice']);
  });

  it('refuses an empty, repeated or unknown mode, naming the field', () => {
    const catalog = catalogWith({ empty: 'modes: []\n', twice: 'modes: [practice, practice]\n', unknown: 'modes: [demo]\n' });
    expect(catalog.list()).toEqual([]);
    const messages = catalog.problems.map(formatProblem);
    expect(messages).toContainEqual(expect.stringMatching(/empty\/exercise\.yaml: modes: must NOT have fewer than 1 items/));
    expect(messages).toContainEqual(expect.stringMatching(/twice\/exercise\.yaml: modes: must NOT have duplicate items/));
    expect(messages).toContainEqual(expect.stringMatching(/unknown\/exercise\.yaml: modes\.0: must be one of interview, practice/));
  });

  it('ships the hiring exercises for interviews only, and the warm-up and the practice ones for both', () => {
    const catalog = ExerciseCatalog.load(path.join(repoRoot(), 'exercises'));
    for (const id of HIRING) expect(catalog.get(id)?.modes, id).toEqual(['interview']);
    for (const id of ['shell-warmup', 'artifact-retention', 'git-collab', 'container-hardening']) expect(catalog.get(id)?.modes, id).toEqual(['interview', 'practice']);
    const both = catalog
      .list()
      .filter((e) => e.modes.includes('practice'))
      .map((e) => e.id);
    expect([...practiceOffer('declared', catalog)].sort()).toEqual(both.sort());
    for (const id of HIRING) expect(practiceOffer('declared', catalog).has(id), id).toBe(false);
    expect([...practiceOffer('all', catalog)].sort()).toEqual(catalog.list().map((e) => e.id).sort());
  });
});

describe('OPSLAB_PRACTICE_EXERCISES', () => {
  it('is `declared` by default; `all`, or a list of ids', () => {
    expect(loadConfig({}).practice.exercises).toBe('declared');
    expect(parsePracticeExercises(' Declared ')).toBe('declared');
    expect(parsePracticeExercises('ALL')).toBe('all');
    expect(parsePracticeExercises('shell-warmup, ci-triage')).toEqual(['shell-warmup', 'ci-triage']);
  });

  it.each(['shell-warmup,,ci-triage', 'Shell_Warmup', 'ci-triage,ci-triage', '*'])('refuses %j, naming the variable', (value) => {
    expect(() => loadConfig({ OPSLAB_PRACTICE_EXERCISES: value })).toThrow(ConfigError);
    expect(() => loadConfig({ OPSLAB_PRACTICE_EXERCISES: value })).toThrow(/OPSLAB_PRACTICE_EXERCISES/);
  });

  it('adds and limits exactly what the list names, and refuses ids the catalog does not hold', () => {
    const catalog = ExerciseCatalog.load(path.join(repoRoot(), 'exercises'));
    expect([...practiceOffer(['ci-triage'], catalog)]).toEqual(['ci-triage']);
    expect(() => practiceOffer(['shell-warmup', 'ci-triag'], catalog)).toThrow(ConfigError);
    expect(() => practiceOffer(['shell-warmup', 'ci-triag'], catalog)).toThrow(
      /OPSLAB_PRACTICE_EXERCISES="shell-warmup,ci-triag".*"ci-triag" is not one/,
    );
  });
});

describe('OPSLAB_INVITE_LANDING', () => {
  it('is `title` by default, or `minimal`; anything else stops the server', () => {
    expect(loadConfig({}).inviteLanding).toBe('title');
    expect(loadConfig({ OPSLAB_INVITE_LANDING: 'Minimal' }).inviteLanding).toBe('minimal');
    expect(() => loadConfig({ OPSLAB_INVITE_LANDING: 'none' })).toThrow(/OPSLAB_INVITE_LANDING="none".*title .* or minimal/);
  });
});
