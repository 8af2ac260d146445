import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import Ajv2020Module, { type ErrorObject } from 'ajv/dist/2020.js';
import type { LimitOverrides } from '../sandbox/policy.js';
import { EXERCISE_SCHEMA_FILE } from '../paths.js';
import { ExerciseChangedError, exerciseVersion, type ExerciseVersionStore } from './versions.js';

export { exerciseVersion } from './versions.js';

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
  /**
   * Uploads into and downloads from the workspace (exercise.yaml `files:`): each absent: the attempt's default
   * (allowed in practice, off in interviews; an invite may choose). `false` is off for every attempt.
   */
  files?: { upload?: boolean; download?: boolean };
  cleanroom: CleanroomSpec[];
  wrong: WrongAnswer[];
  /** Other correct answers (`solution-alt/<name>`, relative to the exercise dir): every check passes after each. */
  alternatives: string[];
  /** The exercise has an executable `setup`. */
  hasSetup: boolean;
  /**
   * The sha256 of the whole exercise directory (versions.ts): what the candidate gets (instructions, workspace/,
   * setup and the files it reads, variants) and how they are graded (checks/, hidden/, clean-room jobs). An invite
   * and its attempt keep the version they were made with; every grading keeps the version whose checks ran.
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

export interface CatalogOptions {
  imageExists?: (image: string) => boolean;
  /**
   * Where each exercise's version is kept (the server's data directory). With it, every exercise loaded is stored
   * there first and served from its stored copy, and any stored version can be loaded again by (id, version).
   */
  versions?: ExerciseVersionStore;
}

/** Times an exercise directory that changes while it is being stored is read again before it is left out. */
const PUBLISH_TRIES = 3;

export class ExerciseCatalog {
  /** Stored versions loaded so far (they never change); null: a copy found broken. */
  private readonly pinned = new Map<string, Exercise | null>();

  private constructor(
    private readonly byId: Map<string, Exercise>,
    readonly problems: ExerciseProblem[],
    private readonly versions?: ExerciseVersionStore,
  ) {}

  /**
   * Loads every exercises/<id>/exercise.yaml. Invalid exercises are left out and reported in `problems`. With a
   * version store, each exercise is stored as its current version and served from that copy.
   */
  static load(exercisesDir: string, opts: CatalogOptions = {}): ExerciseCatalog {
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
      const result = opts.versions
        ? loadPublished(path.join(exercisesDir, entry.name), opts.versions, opts)
        : loadExercise(path.join(exercisesDir, entry.name), opts);
      if ('problems' in result) problems.push(...result.problems);
      else byId.set(result.exercise.id, result.exercise);
    }
    return new ExerciseCatalog(byId, problems, opts.versions);
  }

  list(): Exercise[] {
    return [...this.byId.values()];
  }

  /** The current version of an exercise: what new invites and practice attempts get. */
  get(id: string): Exercise | undefined {
    return this.byId.get(id);
  }

  /**
   * A given version of an exercise: the current one, or its stored copy (also of an exercise no longer in the
   * catalog). Undefined when that version is not stored (or its copy no longer matches its version).
   */
  at(id: string, version: string): Exercise | undefined {
    const current = this.byId.get(id);
    if (current?.version === version) return current;
    const key = `${id}@${version}`;
    const cached = this.pinned.get(key);
    if (cached !== undefined) return cached ?? undefined;
    if (!this.versions?.has(id, version)) return undefined;
    const dir = this.versions.dir(id, version);
    const result = loadExercise(dir, { id });
    // A copy that does not load, or no longer hashes to its version, is no version (and is not read again).
    const exercise = 'problems' in result || result.exercise.version !== version ? null : result.exercise;
    this.pinned.set(key, exercise);
    return exercise ?? undefined;
  }

  /**
   * The exercise as an attempt (or invite) has it: the version it was made with, or the current one for those made
   * before versions were kept (null). Undefined when that version is gone.
   */
  forAttempt(attempt: { exerciseId: string; exerciseVersion?: string | null }): Exercise | undefined {
    return attempt.exerciseVersion ? this.at(attempt.exerciseId, attempt.exerciseVersion) : this.get(attempt.exerciseId);
  }

  /**
   * Makes an exercise loaded from its stored copy the current version of its id: what new invites and practice
   * attempts get from now on (exercises from git, once their self-test passed: publish.ts). Invites and attempts
   * keep the version they pinned, through at().
   */
  setCurrent(exercise: Exercise): void {
    this.byId.set(exercise.id, exercise);
  }

  /** No longer offers an exercise (its repository dropped it); pinned versions stay reachable through at(). */
  withdraw(id: string): void {
    const current = this.byId.get(id);
    if (current) this.pinned.set(`${id}@${current.version}`, current);
    this.byId.delete(id);
  }

  /** The version store, when the catalog keeps one (retention prunes it). */
  get store(): ExerciseVersionStore | undefined {
    return this.versions;
  }
}

/**
 * Loads an exercise from its directory (problems name its files), stores that content as a version, and answers with
 * the exercise loaded from the stored copy (so what runs is exactly what the version names, whatever happens to the
 * directory later). A directory edited while being stored is read again.
 */
function loadPublished(
  source: string,
  versions: ExerciseVersionStore,
  opts: { imageExists?: (image: string) => boolean },
): { exercise: Exercise } | { problems: ExerciseProblem[] } {
  for (let i = 0; ; i++) {
    const result = loadExercise(source, opts);
    if ('problems' in result) return result;
    try {
      const stored = versions.publish(result.exercise.id, source, result.exercise.version);
      // Read back from the copy: every field then comes from exactly the content the version names, even if the
      // directory changed between its reading and its hashing.
      const fromCopy = loadExercise(stored.dir, { ...opts, id: result.exercise.id });
      if ('problems' in fromCopy || fromCopy.exercise.version !== stored.version) throw new ExerciseChangedError(result.exercise.id);
      return fromCopy;
    } catch (err) {
      if (err instanceof ExerciseChangedError && i + 1 < PUBLISH_TRIES) continue;
      const message = err instanceof ExerciseChangedError ? 'kept changing while it was being stored' : `cannot be stored: ${(err as Error).message}`;
      return { problems: [{ file: source, field: '', message }] };
    }
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
  /** `id`: the id the exercise must have, when its directory is not named after it (a stored version). */
  opts: { imageExists?: (image: string) => boolean; id?: string } = {},
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
  if (problems.length === 0 && spec.id !== (opts.id ?? path.basename(dir))) {
    problems.push({ file, field: 'id', message: `must equal the directory name "${opts.id ?? path.basename(dir)}"` });
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
      files: spec.files ?? {},
      cleanroom: (spec.cleanroom ?? []).map((c) => ({
        ...c,
        gitHead: c.gitHead ?? false,
        bring: c.bring ?? [],
        timeoutSeconds: c.timeoutSeconds ?? 300,
      })),
      wrong: spec.wrong ?? [],
      alternatives: alternativeSolutions(dir),
      hasSetup: isExecutable(path.join(dir, 'setup')),
      version: exerciseVersion(dir),
      instructions,
      dir,
    },
  };
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
