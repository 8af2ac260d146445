// Loading one exercise directory: exercise.yaml parsed and checked against the JSON schema, then against its files
// (scripts executable, hidden and brought directories present, near misses naming real checks), with every problem
// naming its file and field. The catalog loads each exercise through here.

import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import Ajv2020Module, { type ErrorObject } from 'ajv/dist/2020.js';
import { EXERCISE_SCHEMA_FILE } from '../paths.js';
import { exerciseVersion } from './versions.js';
import {
  DEFAULT_CHECK_TIMEOUT_SECONDS,
  DEFAULT_WORKSPACE,
  EXERCISE_MODES,
  type CheckSpec,
  type CleanroomBuildSpec,
  type CleanroomSpec,
  type Exercise,
  type ExerciseProblem,
  type WrongAnswer,
} from './exercise-spec.js';

const Ajv2020 = Ajv2020Module as unknown as typeof Ajv2020Module.default;

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
    cleanroom?: RawCleanroom[];
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
        ...(c.needs ? { needs: c.needs } : {}),
      })),
      collect: spec.collect ?? [workspace],
      probe: spec.probe ?? false,
      editor: spec.editor ?? true,
      files: spec.files ?? {},
      cleanroom: (spec.cleanroom ?? []).map(cleanroomJob),
      wrong: spec.wrong ?? [],
      alternatives: alternativeSolutions(dir),
      hasSetup: isExecutable(path.join(dir, 'setup')),
      version: exerciseVersion(dir),
      instructions,
      dir,
    },
  };
}

type RawCleanroom = Omit<Partial<CleanroomSpec>, 'build'> & { id: string; build?: Partial<CleanroomBuildSpec> & { context: string; from: string[] } };

/** A clean-room job with its defaults; a build job copies its context and names its first FROM image. */
function cleanroomJob(c: RawCleanroom): CleanroomSpec {
  const common = { gitHead: c.gitHead ?? false, bring: c.bring ?? [], timeoutSeconds: c.timeoutSeconds ?? 300 };
  if (!c.build) return { ...c, build: undefined, image: c.image!, copy: c.copy!, run: c.run!, ...common };
  const build = { context: c.build.context, dockerfile: c.build.dockerfile ?? 'Dockerfile', from: c.build.from, inspect: c.build.inspect ?? [] };
  return { ...c, ...common, image: build.from[0]!, copy: build.context, run: c.run ?? '', build };
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
    checks?: { id: string; needs?: string[] }[];
    variants?: { name: string }[];
    wrong?: WrongAnswer[];
    cleanroom?: { id: string; image?: string; copy?: string; gitHead?: boolean; alone?: boolean; hidden?: string; bring?: { from: string; to: string }[]; build?: { context: string; dockerfile?: string; from: string[]; inspect?: string[] } }[];
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
    if (c.image !== undefined && opts.imageExists && !opts.imageExists(c.image)) {
      problems.push({ file, field: `cleanroom.${i}.image`, message: `names no sandbox image (sandboxes/${c.image}/Dockerfile)` });
    }
    if (c.build) problems.push(...buildJobProblems(file, `cleanroom.${i}`, c, opts));
  });
  for (const id of duplicates((spec.cleanroom ?? []).map((c) => c.id))) {
    problems.push({ file, field: 'cleanroom', message: `clean-room job id "${id}" is used twice` });
  }
  const jobIds = new Set((spec.cleanroom ?? []).map((c) => c.id));
  checks.forEach((check, i) => {
    for (const id of check.needs ?? []) {
      if (!jobIds.has(id)) problems.push({ file, field: `checks.${i}.needs`, message: `names no clean-room job "${id}"` });
    }
  });
  return problems;
}

/** What a build job may not hold or name: the fields of a plain job, `..`, images that do not exist. */
function buildJobProblems(
  file: string,
  field: string,
  c: { image?: string; copy?: string; gitHead?: boolean; bring?: unknown[]; build?: { context: string; dockerfile?: string; from: string[]; inspect?: string[] } },
  opts: { imageExists?: (image: string) => boolean },
): ExerciseProblem[] {
  const problems: ExerciseProblem[] = [];
  const build = c.build!;
  for (const key of ['image', 'copy', 'gitHead', 'bring'] as const) {
    if (c[key] !== undefined) {
      problems.push({ file, field: `${field}.${key}`, message: 'is not used by a build job (it copies build.context and runs in the image it built): leave it out' });
    }
  }
  const dotted = (p: string) => p.split('/').some((part) => part === '..' || part === '.');
  if (dotted(build.context)) problems.push({ file, field: `${field}.build.context`, message: `must be a plain absolute path, without . or .. (${build.context})` });
  // build.dockerfile: its pattern already refuses . and .. parts.
  build.from.forEach((name, j) => {
    if (opts.imageExists && !opts.imageExists(name)) {
      problems.push({ file, field: `${field}.build.from.${j}`, message: `names no sandbox image (sandboxes/${name}/Dockerfile)` });
    }
  });
  (build.inspect ?? []).forEach((glob, j) => {
    if (dotted(glob.slice(1)) || glob.includes('//')) problems.push({ file, field: `${field}.build.inspect.${j}`, message: `must be a plain absolute glob, without . or .. or // (${glob})` });
  });
  return problems;
}

export function formatProblem(p: ExerciseProblem): string {
  return `${p.file}${p.field ? `: ${p.field}` : ''}: ${p.message}`;
}
