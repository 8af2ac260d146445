import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import Ajv2020Module, { type ErrorObject } from 'ajv/dist/2020.js';
import type { LimitOverrides } from '../sandbox/policy.js';
import { EXERCISE_SCHEMA_FILE } from '../paths.js';

const Ajv2020 = Ajv2020Module as unknown as typeof Ajv2020Module.default;

export const DIFFICULTIES = ['easy', 'medium', 'hard'] as const;
export const SKILLS = [
  'linux-networking',
  'git',
  'scripting',
  'cicd',
  'iac',
  'cloud',
  'observability',
  'communication',
] as const;
/** Where an exercise is offered: interviews (invites) and practice (the public catalog). */
export const EXERCISE_MODES = ['interview', 'practice'] as const;
export type ExerciseMode = (typeof EXERCISE_MODES)[number];

export interface CheckSpec {
  id: string;
  title: string;
  points: number;
  /** May the candidate see this check's message during an interview. */
  visible: boolean;
  timeoutSeconds: number;
  /** 'fail': the check must fail on the untouched sandbox (the self-test proves it). */
  initially: 'fail' | 'any';
  /**
   * What only a person can judge: the verdict is shown in the review, but not counted in the score until a reviewer
   * confirms or overrides it.
   */
  advisory: boolean;
}

export interface VariantSpec {
  name: string;
  choices: string[];
}

export interface CleanroomSpec {
  id: string;
  image: string;
  copy: string;
  gitHead: boolean;
  /**
   * A directory of the exercise's `hidden/` copied into the clean room at /opt/opslab-hidden, root's and read-only,
   * after the candidate's copy: the grader's own tests and inputs, which the candidate's code never supplies.
   */
  hidden?: string;
  /**
   * Pristine directories of the exercise copied under /opt/opslab-hidden/<to> the same way (never solution*, wrong/
   * or checks/): the grader's copy of what the candidate started from, without keeping a second copy in hidden/.
   */
  bring: { from: string; to: string }[];
  run: string;
  timeoutSeconds: number;
}

export interface WrongAnswer {
  script: string;
  fails: string[];
  note?: string;
}

export interface Exercise {
  id: string;
  title: string;
  summary: string;
  difficulty: (typeof DIFFICULTIES)[number];
  timeLimitMinutes: number;
  image: string;
  skills: (typeof SKILLS)[number][];
  /**
   * Where the exercise is offered (exercise.yaml `modes:`, default both). Practice reveals every check message, the
   * hints and the reference solution, so an exercise used for hiring declares interview only; the operator's
   * OPSLAB_PRACTICE_EXERCISES decides in the end what practice offers (server/src/practice/offer.ts).
   */
  modes: ExerciseMode[];
  limits: LimitOverrides;
  /** Sandbox path where workspace/ is copied. */
  workspace: string;
  hints: string[];
  variants: VariantSpec[];
  checks: CheckSpec[];
  /** Sandbox paths copied out for the checks. */
  collect: string[];
  /** Checks need the sandbox's loopback network and process list. */
  probe: boolean;
  /** The workspace offers its file editor beside the terminal (exercise.yaml `editor:`; the catalog sets it, absent: true). */
  editor?: boolean;
  cleanroom: CleanroomSpec[];
  wrong: WrongAnswer[];
  /** Other correct answers (`solution-alt/<name>`, relative to the exercise dir): every check passes after each. */
  alternatives: string[];
  /** The exercise has an executable `setup`. */
  hasSetup: boolean;
  /**
   * A hash of what decides a grade (exercise.yaml, checks/, hidden/): kept with every grading, so a review can tell
   * which version of the checks graded an attempt, and whether a regrade ran a newer one.
   */
  version: string;
  /** The candidate's instructions (README.md), markdown. */
  instructions: string;
  dir: string;
}

export const DEFAULT_WORKSPACE = '/root/work';

/**
 * The sandbox paths an attempt's snapshots keep: what the checks read (`collect`) and what clean-room jobs copy,
 * so that a grading from the stored snapshot sees all a live one would. Paths inside another are left out.
 */
export function evidencePaths(exercise: Pick<Exercise, 'collect' | 'cleanroom'>): string[] {
  const all = [...new Set([...exercise.collect, ...exercise.cleanroom.map((c) => c.copy)].map((p) => path.posix.normalize(p).replace(/(.)\/+$/, '$1')))];
  return all.filter((p) => !all.some((q) => q !== p && (q === '/' || p.startsWith(`${q}/`)))).sort();
}
export const DEFAULT_CHECK_TIMEOUT_SECONDS = 60;

/** A problem found in an exercise's files, naming the file and the field. */
export interface ExerciseProblem {
  file: string;
  field: string;
  message: string;
}

export class ExerciseCatalog {
  private constructor(
    private readonly byId: Map<string, Exercise>,
    readonly problems: ExerciseProblem[],
  ) {}

  /** Loads every exercises/<id>/exercise.yaml. Invalid exercises are left out and reported in `problems`. */
  static load(exercisesDir: string, opts: { imageExists?: (image: string) => boolean } = {}): ExerciseCatalog {
    const byId = new Map<string, Exercise>();
    const problems: ExerciseProblem[] = [];
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(exercisesDir, { withFileTypes: true });
    } catch {
      problems.push({ file: exercisesDir, field: '', message: 'the exercises directory cannot be read' });
    }
    // Hidden directories are no exercises (an exercise id never starts with a dot): a scaffold being written, an
    // editor's or a tool's own folder.
    const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.'));
    for (const entry of dirs.sort((a, b) => a.name.localeCompare(b.name))) {
      const result = loadExercise(path.join(exercisesDir, entry.name), opts);
      if ('problems' in result) problems.push(...result.problems);
      else byId.set(result.exercise.id, result.exercise);
    }
    return new ExerciseCatalog(byId, problems);
  }

  list(): Exercise[] {
    return [...this.byId.values()];
  }

  get(id: string): Exercise | undefined {
    return this.byId.get(id);
  }
}

let validator: ReturnType<InstanceType<typeof Ajv2020>['compile']> | undefined;

function validate(data: unknown): ErrorObject[] {
  if (!validator) {
    const schema = JSON.parse(fs.readFileSync(EXERCISE_SCHEMA_FILE(), 'utf8')) as object;
    validator = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
  }
  return validator(data) ? [] : (validator.errors ?? []);
}

function describe(error: ErrorObject): { field: string; message: string } {
  const field = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  switch (error.keyword) {
    case 'required':
      return { field: String(error.params.missingProperty), message: 'is required' };
    case 'additionalProperties':
      return {
        field: [field, String(error.params.additionalProperty)].filter(Boolean).join('.'),
        message: 'is not a known field',
      };
    case 'enum':
      return { field, message: `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}` };
    default:
      return { field: field || '(top level)', message: error.message ?? 'is invalid' };
  }
}

export function loadExercise(
  dir: string,
  opts: { imageExists?: (image: string) => boolean } = {},
): { exercise: Exercise } | { problems: ExerciseProblem[] } {
  const file = path.join(dir, 'exercise.yaml');
  const problems: ExerciseProblem[] = [];
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    return { problems: [{ file, field: '', message: 'exercise.yaml is missing' }] };
  }
  let data: unknown;
  try {
    data = parseYaml(raw);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    return { problems: [{ file, field: '', message: `is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}` }] };
  }
  for (const error of validate(data)) problems.push({ file, ...describe(error) });
  type Raw = Omit<Partial<Exercise>, 'checks' | 'cleanroom'> & {
    id: string;
    image: string;
    checks?: (Partial<CheckSpec> & { id: string; title: string; points: number })[];
    cleanroom?: (Partial<CleanroomSpec> & { id: string; image: string; copy: string; run: string })[];
  };
  const spec = data as Raw;
  if (problems.length === 0 && spec.id !== path.basename(dir)) {
    problems.push({ file, field: 'id', message: `must equal the directory name "${path.basename(dir)}"` });
  }
  if (problems.length === 0) problems.push(...crossCheck(dir, file, spec, opts));
  const readme = path.join(dir, 'README.md');
  let instructions = '';
  try {
    instructions = fs.readFileSync(readme, 'utf8');
    if (instructions.trim() === '') problems.push({ file: readme, field: '', message: 'is empty' });
  } catch {
    problems.push({ file: readme, field: '', message: 'is missing: it holds the instructions the candidate reads' });
  }
  if (problems.length > 0) return { problems };
  const workspace = spec.workspace ?? DEFAULT_WORKSPACE;
  return {
    exercise: {
      id: spec.id,
      title: spec.title!,
      summary: spec.summary!,
      difficulty: spec.difficulty!,
      timeLimitMinutes: spec.timeLimitMinutes!,
      image: spec.image,
      skills: spec.skills ?? [],
      modes: spec.modes ?? [...EXERCISE_MODES],
      limits: spec.limits ?? {},
      workspace,
      hints: spec.hints ?? [],
      variants: spec.variants ?? [],
      checks: (spec.checks ?? []).map((c) => ({
        id: c.id,
        title: c.title,
        points: c.points,
        visible: c.visible ?? true,
        timeoutSeconds: c.timeoutSeconds ?? DEFAULT_CHECK_TIMEOUT_SECONDS,
        initially: c.initially ?? 'fail',
        advisory: c.advisory ?? false,
      })),
      collect: spec.collect ?? [workspace],
      probe: spec.probe ?? false,
      editor: spec.editor ?? true,
      cleanroom: (spec.cleanroom ?? []).map((c) => ({
        ...c,
        gitHead: c.gitHead ?? false,
        bring: c.bring ?? [],
        timeoutSeconds: c.timeoutSeconds ?? 300,
      })),
      wrong: spec.wrong ?? [],
      alternatives: alternativeSolutions(dir),
      hasSetup: isExecutable(path.join(dir, 'setup')),
      version: exerciseVersion(dir, (spec.cleanroom ?? []).flatMap((c) => (c.bring ?? []).map((b) => b.from))),
      instructions,
      dir,
    },
  };
}

/**
 * sha256 (12 hex digits) over exercise.yaml and every file under checks/, hidden/ and the directories clean-room jobs
 * bring (`also`): names, modes, contents.
 */
export function exerciseVersion(dir: string, also: string[] = []): string {
  const h = createHash('sha256');
  const add = (rel: string) => {
    const abs = path.join(dir, rel);
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(abs).sort()) add(path.posix.join(rel, name));
    } else if (st.isSymbolicLink()) {
      h.update(`l ${rel}\0${fs.readlinkSync(abs)}\0`);
    } else if (st.isFile()) {
      h.update(`f ${rel} ${st.mode & 0o111 ? 'x' : '-'}\0`).update(fs.readFileSync(abs)).update('\0');
    }
  };
  for (const rel of ['exercise.yaml', 'checks', 'hidden', ...[...new Set(also)].sort()]) add(rel);
  return h.digest('hex').slice(0, 12);
}

/** The executables in `solution-alt/`, sorted, as paths relative to the exercise dir. */
function alternativeSolutions(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(dir, 'solution-alt'));
  } catch {
    return [];
  }
  return names
    .filter((n) => !n.startsWith('.') && isExecutable(path.join(dir, 'solution-alt', n)))
    .sort()
    .map((n) => `solution-alt/${n}`);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Rules a JSON Schema cannot express: unique ids, references between fields, files that must exist. */
function crossCheck(
  dir: string,
  file: string,
  spec: {
    image: string;
    checks?: { id: string }[];
    variants?: { name: string }[];
    wrong?: WrongAnswer[];
    cleanroom?: { id: string; image: string; hidden?: string; bring?: { from: string; to: string }[] }[];
  },
  opts: { imageExists?: (image: string) => boolean },
): ExerciseProblem[] {
  const problems: ExerciseProblem[] = [];
  const rel = (p: string) => path.join(dir, p);
  if (opts.imageExists && !opts.imageExists(spec.image)) {
    problems.push({ file, field: 'image', message: `names no sandbox image (sandboxes/${spec.image}/Dockerfile)` });
  }
  const duplicates = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
  const checks = spec.checks ?? [];
  for (const id of duplicates(checks.map((c) => c.id))) {
    problems.push({ file, field: 'checks', message: `check id "${id}" is used twice` });
  }
  for (const name of duplicates((spec.variants ?? []).map((v) => v.name.toUpperCase().replace(/-/g, '_')))) {
    problems.push({ file, field: 'variants', message: `variant "${name}" is declared twice` });
  }
  checks.forEach((check, i) => {
    if (!isExecutable(rel(`checks/${check.id}`))) {
      problems.push({ file: rel(`checks/${check.id}`), field: `checks.${i}`, message: 'must exist and be executable' });
    }
  });
  if (checks.length > 0 && !isExecutable(rel('solution/apply'))) {
    problems.push({ file: rel('solution/apply'), field: '', message: 'must exist and be executable: the reference answer' });
  }
  if (fs.existsSync(rel('setup')) && !isExecutable(rel('setup'))) {
    problems.push({ file: rel('setup'), field: '', message: 'must be executable' });
  }
  const ids = new Set(checks.map((c) => c.id));
  (spec.wrong ?? []).forEach((w, i) => {
    if (!isExecutable(rel(w.script))) {
      problems.push({ file: rel(w.script), field: `wrong.${i}.script`, message: 'must exist and be executable' });
    }
    for (const id of w.fails) {
      if (!ids.has(id)) problems.push({ file, field: `wrong.${i}.fails`, message: `names no check "${id}"` });
    }
  });
  (spec.cleanroom ?? []).forEach((c, i) => {
    if (c.hidden !== undefined && !fs.statSync(rel(c.hidden), { throwIfNoEntry: false })?.isDirectory()) {
      problems.push({ file, field: `cleanroom.${i}.hidden`, message: `must be a directory of the exercise (${c.hidden})` });
    }
    const targets: string[] = [];
    (c.bring ?? []).forEach((b, j) => {
      const field = `cleanroom.${i}.bring.${j}`;
      const from = fs.lstatSync(rel(b.from), { throwIfNoEntry: false });
      if (!from?.isDirectory()) problems.push({ file, field: `${field}.from`, message: `must be a directory of the exercise (${b.from})` });
      const to = path.posix.normalize(b.to);
      if (targets.some((t) => t === to || t.startsWith(`${to}/`) || to.startsWith(`${t}/`))) {
        problems.push({ file, field: `${field}.to`, message: `overlaps another directory brought into the clean room (${b.to})` });
      }
      if (c.hidden !== undefined && fs.lstatSync(path.join(rel(c.hidden), to), { throwIfNoEntry: false })) {
        problems.push({ file, field: `${field}.to`, message: `would cover ${c.hidden}/${to}: pick a path that ${c.hidden} does not hold` });
      }
      targets.push(to);
    });
    if (opts.imageExists && !opts.imageExists(c.image)) {
      problems.push({ file, field: `cleanroom.${i}.image`, message: `names no sandbox image (sandboxes/${c.image}/Dockerfile)` });
    }
  });
  for (const id of duplicates((spec.cleanroom ?? []).map((c) => c.id))) {
    problems.push({ file, field: 'cleanroom', message: `clean-room job id "${id}" is used twice` });
  }
  return problems;
}

export function formatProblem(p: ExerciseProblem): string {
  return `${p.file}${p.field ? `: ${p.field}` : ''}: ${p.message}`;
}
