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

export interface Exercise {
  id: string;
  title: string;
  summary: string;
  difficulty: (typeof DIFFICULTIES)[number];
  timeLimitMinutes: number;
  image: string;
  skills: (typeof SKILLS)[number][];
  limits: LimitOverrides;
  /** The candidate's instructions (README.md), markdown. */
  instructions: string;
  dir: string;
}

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
    for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
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
  const spec = data as Omit<Exercise, 'instructions' | 'dir'>;
  if (problems.length === 0 && spec.id !== path.basename(dir)) {
    problems.push({ file, field: 'id', message: `must equal the directory name "${path.basename(dir)}"` });
  }
  if (problems.length === 0 && opts.imageExists && !opts.imageExists(spec.image)) {
    problems.push({ file, field: 'image', message: `names no sandbox image (sandboxes/${spec.image}/Dockerfile)` });
  }
  const readme = path.join(dir, 'README.md');
  let instructions = '';
  try {
    instructions = fs.readFileSync(readme, 'utf8');
    if (instructions.trim() === '') problems.push({ file: readme, field: '', message: 'is empty' });
  } catch {
    problems.push({ file: readme, field: '', message: 'is missing: it holds the instructions the candidate reads' });
  }
  if (problems.length > 0) return { problems };
  return {
    exercise: {
      ...spec,
      skills: spec.skills ?? [],
      limits: spec.limits ?? {},
      instructions,
      dir,
    },
  };
}

export function formatProblem(p: ExerciseProblem): string {
  return `${p.file}${p.field ? `: ${p.field}` : ''}: ${p.message}`;
}
