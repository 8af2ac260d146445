#!/usr/bin/env node
// Exercise author tooling: `npm run exercise -- new <id>`, `npm run exercise -- validate [id]`,
// `npm run exercise -- test [id] [--seeds N]`.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { ExerciseCatalog, formatProblem, type Exercise } from '../exercises/catalog.js';
import { repoRoot } from '../paths.js';
import { DockerDriver } from '../sandbox/drivers/docker/docker-driver.js';
import { selfTest, type SelfTestRun } from '../grading/self-test.js';
import { ScaffoldRefusal, scaffoldExercise } from './scaffold/scaffold.js';

const USAGE = `usage: npm run exercise -- <command> [options]

commands:
  new <id> [--image NAME] [--title TEXT]
                             a new exercise in the exercises directory with every part (exercise.yaml, README.md,
                             workspace/, setup, checks/, hidden/, solution/, wrong/), commented; it validates and
                             passes its self-test as it is (image default: base)
  validate [id]              check exercise(s) against the schema and the rules (files, ids, images)
  test [id] [--seeds N]      the self-test on the real engine: untouched, solution/apply, each wrong/*,
                             for N seeds (default 2), every state graded twice

options:
  --dir DIR                  the exercises directory (default: OPSLAB_EXERCISES_DIR or ./exercises)
  --parallel N               sandboxes at a time in \`test\` (default 2)
  --json                     \`test\`: print the full report as JSON as well
`;

function imageExists(image: string): boolean {
  return fs.existsSync(path.join(repoRoot(), 'sandboxes', image, 'Dockerfile'));
}

function load(dir: string, id: string | undefined): { exercises: Exercise[]; problems: string[] } {
  const catalog = ExerciseCatalog.load(dir, { imageExists });
  const inScope = (file: string) => !id || path.resolve(file).startsWith(path.resolve(dir, id) + path.sep) || path.resolve(file) === path.resolve(dir, id);
  const problems = catalog.problems.filter((p) => inScope(p.file)).map(formatProblem);
  let exercises = catalog.list();
  if (id) {
    exercises = exercises.filter((e) => e.id === id);
    if (exercises.length === 0 && problems.length === 0) {
      problems.push(`${path.join(dir, id)}: no such exercise`);
    }
  }
  return { exercises, problems };
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const padL = (s: string | number, n: number) => String(s).padStart(n);

function printRun(exercise: Exercise, r: SelfTestRun): void {
  const letters = (v: Record<string, string> | undefined) =>
    exercise.checks.map((c) => ({ pass: 'P', fail: 'F', error: 'E' })[v?.[c.id] as 'pass'] ?? '-').join('');
  const g = r.gradings.map((x) => padL(x.durationMs, 6)).join(' ') || padL('-', 6);
  console.log(
    `  ${pad(r.seed.slice(0, 8), 9)}${pad(r.state, 34)}${padL(r.provisionMs, 9)}${padL(r.applyMs, 8)} ${pad(g, 14)} ${pad(letters(r.verdicts[0]), Math.max(9, exercise.checks.length + 1))}${r.problems.length ? 'MISMATCH' : 'ok'}`,
  );
}

/** `new <id>`: refusals (nothing written) exit 2; the new exercise is validated at once. */
function newExercise(dir: string, id: string | undefined, values: { dir?: string; image?: string; title?: string }): number {
  if (!id) {
    process.stderr.write('new: which exercise id? usage: npm run exercise -- new <id> [--dir DIR] [--image NAME] [--title TEXT]\n');
    return 2;
  }
  let created;
  try {
    created = scaffoldExercise({ exercisesDir: dir, id, image: values.image, title: values.title, imageExists });
  } catch (err) {
    // A refusal is bad input (exit 2); anything else is the file system's (a directory that cannot be written).
    // Either way the staging directory is gone and the exercises directory is as it was.
    process.stderr.write(`new: ${(err as Error).message}; nothing was written\n`);
    return err instanceof ScaffoldRefusal ? 2 : 1;
  }
  console.log(`created  ${created.dir}`);
  for (const f of created.files) console.log(`         ${f}`);
  const { exercises, problems } = load(dir, id);
  for (const p of problems) console.log(`problem: ${p}`);
  for (const e of exercises) console.log(`ok       ${e.id} (${e.checks.length} checks, ${e.wrong.length} wrong answers, image ${e.image})`);
  if (problems.length) return 1;
  const dirArg = values.dir === undefined ? '' : ` --dir ${values.dir}`;
  console.log(`
next: edit the files (each one says what it is for), then
  npm run exercise -- validate ${id}${dirArg}
  npm run exercise -- test ${id}${dirArg}`);
  return 0;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      allowPositionals: true,
      options: {
        seeds: { type: 'string', default: '2' },
        parallel: { type: 'string', default: '2' },
        dir: { type: 'string' },
        json: { type: 'boolean', default: false },
        image: { type: 'string' },
        title: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    // An unknown option or one missing its value: say which, not a stack trace.
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { positionals, values } = args;
  const [command, id] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const config = loadConfig();
  const dir = values.dir ? path.resolve(values.dir) : config.exercisesDir;
  if (command === 'new') return newExercise(dir, id, values);
  const { exercises, problems } = load(dir, id);

  if (command === 'validate') {
    for (const p of problems) console.log(`problem: ${p}`);
    for (const e of exercises) console.log(`ok       ${e.id} (${e.checks.length} checks, ${e.wrong.length} wrong answers, image ${e.image})`);
    return problems.length ? 1 : 0;
  }
  if (command !== 'test') {
    process.stderr.write(USAGE);
    return 2;
  }
  if (problems.length) {
    for (const p of problems) console.log(`problem: ${p}`);
    console.log('fix these first (npm run exercise -- validate)');
    return 1;
  }
  const seeds = Number(values.seeds);
  const parallel = Number(values.parallel);
  if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(parallel) || parallel < 1) {
    process.stderr.write('--seeds and --parallel take a positive integer\n');
    return 2;
  }
  // An instance of its own per run: what this run made is found (and removed on Ctrl-C) without touching a server's
  // sandboxes or another author's self-test on the same engine.
  const driver = new DockerDriver({ instance: `exercise-test-${randomBytes(3).toString('hex')}`, policy: config.sandbox });
  const abort = new AbortController();
  const cleanUp = async () => {
    if (abort.signal.aborted) return;
    abort.abort();
    console.error('\ninterrupted: removing this run\'s sandboxes and grader containers');
    // A few rounds: containers being created at this moment show up a little later.
    for (let round = 0; round < 4; round++) {
      const ids = [...(await driver.listManaged()).map((s) => s.id), ...(await driver.listJobs()).map((j) => j.id)];
      await Promise.all(ids.map((id) => driver.remove(id).catch(() => undefined)));
      await new Promise((r) => setTimeout(r, 750));
    }
    process.exit(130);
  };
  process.on('SIGINT', () => void cleanUp());
  process.on('SIGTERM', () => void cleanUp());
  if (!(await driver.ping())) {
    console.error('The Docker engine does not answer (DOCKER_HOST or /var/run/docker.sock). Start it and try again.');
    return 1;
  }
  let failed = false;
  for (const exercise of exercises) {
    if (exercise.checks.length === 0) {
      console.log(`\n${exercise.id}: no checks, nothing to test`);
      continue;
    }
    console.log(`\n${exercise.id}: ${exercise.checks.map((c) => c.id).join(', ')}`);
    console.log(`  ${pad('seed', 9)}${pad('state', 34)}${padL('prov ms', 9)}${padL('apply', 8)} ${pad('grade ms ×2', 14)} ${pad('verdicts', Math.max(9, exercise.checks.length + 1))}result`);
    const report = await selfTest(exercise, {
      driver,
      policy: config.sandbox,
      seeds,
      parallel,
      signal: abort.signal,
      onRun: (r) => {
        if (!abort.signal.aborted) printRun(exercise, r);
      },
    });
    // Interrupted: the clean-up ends the process once it has removed everything.
    if (abort.signal.aborted) await new Promise(() => undefined);
    const gradings = report.runs.flatMap((r) => r.gradings);
    const avg = gradings.length ? Math.round(gradings.reduce((s, g) => s + g.durationMs, 0) / gradings.length) : 0;
    const max = gradings.reduce((m, g) => Math.max(m, g.durationMs), 0);
    console.log(
      `  ${report.ok ? 'PASS' : 'FAIL'} ${exercise.id}: ${report.runs.length} sandboxes, ${gradings.length} gradings (full grading avg ${avg} ms, max ${max} ms), ${Math.round(report.durationMs / 100) / 10} s in all`,
    );
    for (const p of report.problems) console.log(`  mismatch: ${p}`);
    if (values.json) console.log(JSON.stringify(report, null, 2));
    if (!report.ok) failed = true;
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
