import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { loadExercise, type Exercise } from '../../server/src/exercises/catalog.js';
import { ScaffoldRefusal, scaffoldExercise, type ScaffoldOptions } from '../../server/src/cli/scaffold/scaffold.js';
import { selfTest } from '../../server/src/grading/self-test.js';
import { repoRoot } from '../../server/src/paths.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { requireDocker, testLabels, TEST_RUN } from '../helpers/docker.js';

/**
 * `npm run exercise -- new <id>`: the scaffolded exercise validates and passes its own self-test on the real engine,
 * and every refusal writes nothing. Everything happens in a temporary exercises directory, never under exercises/.
 */
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-scaffold-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot(), 'server/src/cli/exercise.ts'), ...args], {
    cwd: repoRoot(),
    env: { ...process.env, OPSLAB_EXERCISES_DIR: path.join(root, 'not-the-default') },
    encoding: 'utf8',
  });
}

/** Every path under dir with its mode and contents: what a refusal must leave exactly as it was. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, name);
      const st = fs.lstatSync(path.join(dir, r));
      out.push(`${r} ${st.mode.toString(8)} ${st.isFile() ? fs.readFileSync(path.join(dir, r), 'utf8') : ''}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

function load(dir: string): Exercise {
  const r = loadExercise(dir, { imageExists: (image) => fs.existsSync(path.join(repoRoot(), 'sandboxes', image, 'Dockerfile')) });
  if ('problems' in r) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.exercise;
}

describe('npm run exercise -- new', () => {
  const exercises = path.join(root, 'exercises');
  fs.mkdirSync(exercises);

  it('refuses an invalid id, an existing directory, an unknown image, a bad title or a missing directory with exit code 2, writing nothing', () => {
    fs.mkdirSync(path.join(exercises, 'taken'));
    fs.writeFileSync(path.join(exercises, 'taken', 'notes.md'), 'an author\'s work in progress\n');
    const before = tree(exercises);
    // Through the command: the exit code and the message.
    const cases: [string[], RegExp][] = [
      [['new', 'Bad_Id'], /invalid exercise id "Bad_Id"/],
      [['new', 'taken'], /taken already exists/],
      [['new', 'fine-id', '--image', 'no-such-image'], /no sandbox image "no-such-image"/],
      [['new', '-dash-first'], /Unknown option '-d'/],
      [['new'], /which exercise id/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args, '--dir', exercises);
      expect(r.status, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
      expect(tree(exercises), args.join(' ')).toEqual(before);
    }
    // The other rules, through the module the command calls (each one a ScaffoldRefusal: exit code 2).
    const refusals: [Partial<ScaffoldOptions>, RegExp][] = [
      [{ id: 'x' }, /invalid exercise id "x"/],
      [{ id: '../escape' }, /invalid exercise id/],
      [{ id: 'UPPER' }, /invalid exercise id/],
      [{ id: 'a'.repeat(64) }, /invalid exercise id/],
      [{ id: 'fine-id', image: '../base' }, /invalid image name/],
      [{ id: 'fine-id', title: 'ab' }, /title must have 3 to 120 characters/],
      [{ id: 'fine-id', title: 'x'.repeat(121) }, /title must have 3 to 120 characters/],
      [{ id: 'fine-id', title: 'two\nlines' }, /one line/],
    ];
    for (const [opts, message] of refusals) {
      expect(() => scaffoldExercise({ exercisesDir: exercises, id: '', ...opts }), JSON.stringify(opts)).toThrow(ScaffoldRefusal);
      expect(() => scaffoldExercise({ exercisesDir: exercises, id: '', ...opts })).toThrow(message);
      expect(tree(exercises), JSON.stringify(opts)).toEqual(before);
    }
    const dashFirst = cli('new', '--dir', exercises, '--', '-dash-first');
    expect(dashFirst.status).toBe(2);
    expect(dashFirst.stderr).toMatch(/invalid exercise id "-dash-first"/);
    expect(tree(exercises)).toEqual(before);
    const missing = cli('new', 'fine-id', '--dir', path.join(root, 'nowhere'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/exercises directory .*nowhere does not exist/);
    expect(fs.existsSync(path.join(root, 'nowhere'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'not-the-default'))).toBe(false);
    fs.rmSync(path.join(exercises, 'taken'), { recursive: true });
  });

  it('writes every part, executable where it must be, and the result validates', () => {
    const title = 'Fix: the "port" #1 — a title YAML must quote';
    const r = cli('new', 'port-fix', '--dir', exercises, '--title', title);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('ok       port-fix (2 checks, 1 wrong answers, image base)');
    const dir = path.join(exercises, 'port-fix');
    expect(fs.readdirSync(exercises)).toEqual(['port-fix']); // no staging directory left behind
    const executable = (rel: string) => (fs.statSync(path.join(dir, rel)).mode & 0o111) !== 0;
    for (const rel of ['setup', 'checks/service-enabled', 'checks/port-assigned', 'solution/apply', 'wrong/enable-only']) {
      expect(executable(rel), rel).toBe(true);
    }
    for (const rel of ['exercise.yaml', 'README.md', 'workspace/ports.txt', 'hidden/expected.json', 'solution/README.md']) {
      expect(fs.statSync(path.join(dir, rel)).isFile(), rel).toBe(true);
    }
    const all = tree(dir).join('\n');
    expect(all).not.toMatch(/\{\{[a-z_]+\}\}/);

    const exercise = load(dir);
    expect(exercise).toMatchObject({
      id: 'port-fix',
      title,
      image: 'base',
      difficulty: 'easy',
      modes: ['practice', 'interview'],
      hasSetup: true,
      variants: [{ name: 'service', choices: ['api', 'worker', 'scheduler'] }],
      wrong: [{ script: 'wrong/enable-only', fails: ['port-assigned'] }],
    });
    expect(exercise.timeLimitMinutes).toBeLessThanOrEqual(20);
    expect(exercise.checks.map((c) => [c.id, c.visible, c.initially])).toEqual([
      ['service-enabled', true, 'fail'],
      ['port-assigned', false, 'fail'],
    ]);
    expect(exercise.instructions).toContain(`# ${title}`);
    // The comments explain the grader's contract where an author first looks.
    const check = fs.readFileSync(path.join(dir, 'checks/service-enabled'), 'utf8');
    for (const word of ['$WORKSPACE', '$SANDBOX', '$EXERCISE', 'stdout', 'stderr', '0 pass, 1 fail']) expect(check).toContain(word);

    const validate = cli('validate', 'port-fix', '--dir', exercises);
    expect(validate.status, validate.stdout + validate.stderr).toBe(0);
    expect(validate.stdout).not.toContain('problem');
  });

  it('passes its self-test on the real engine: untouched fails, the solution passes, the near miss fails exactly its checks', async () => {
    await requireDocker();
    const policy = loadConfig().sandbox;
    const driver = new DockerDriver({ instance: `scaffold-${TEST_RUN}`.slice(0, 40), policy, extraLabels: testLabels() });
    const exercise = load(path.join(exercises, 'port-fix'));
    const report = await selfTest(exercise, { driver, policy, seeds: 2, parallel: 2, labels: testLabels() });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const states = [...new Set(report.runs.map((r) => r.state))].sort();
    expect(states).toEqual(['solution/apply', 'untouched', 'wrong/enable-only']);
    expect(new Set(report.runs.map((r) => r.seed)).size).toBe(2);
    const verdicts = (state: string) => report.runs.filter((r) => r.state === state).flatMap((r) => r.verdicts);
    for (const v of verdicts('untouched')) expect(v).toEqual({ 'service-enabled': 'fail', 'port-assigned': 'fail' });
    for (const v of verdicts('solution/apply')) expect(v).toEqual({ 'service-enabled': 'pass', 'port-assigned': 'pass' });
    for (const v of verdicts('wrong/enable-only')) expect(v).toEqual({ 'service-enabled': 'pass', 'port-assigned': 'fail' });
    const gradings = report.runs.flatMap((r) => r.gradings.map((g) => g.durationMs));
    console.log(
      `[figure] scaffolded exercise: ${report.runs.length} states over 2 seeds, ${gradings.length} gradings, ` +
        `max ${Math.max(...gradings)} ms; self-test ${Math.round(report.durationMs / 100) / 10} s`,
    );

    // The self-test can fail: the same exercise with its near miss declared to fail one check too many does.
    const broken = path.join(root, 'broken');
    fs.cpSync(path.join(exercises, 'port-fix'), path.join(broken, 'port-fix'), { recursive: true });
    const yaml = path.join(broken, 'port-fix', 'exercise.yaml');
    fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace('fails: [port-assigned]', 'fails: [service-enabled, port-assigned]'));
    const mismatch = await selfTest(load(path.join(broken, 'port-fix')), { driver, policy, seeds: 1, parallel: 2, labels: testLabels() });
    expect(mismatch.ok).toBe(false);
    expect(mismatch.problems.join('\n')).toMatch(/wrong\/enable-only.*service-enabled/);
  }, 10 * 60_000);
});
