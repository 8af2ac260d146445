// What an exercise is once loaded: the types of exercise.yaml's parts (checks, variants, clean rooms, near misses),
// the skills and modes it may name, and the defaults. The JSON schema (exercises/exercise.schema.json) says what a
// file may hold; this says what the server works with.

import path from 'node:path';
import type { LimitOverrides } from '../sandbox/policy.js';

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
  /**
   * The clean-room jobs whose results the check reads (/cleanroom/<id>/): it runs as soon as they have ended.
   * Left out: every job. An empty list: the check reads none and runs while the jobs do.
   */
  needs?: string[];
}

export interface VariantSpec {
  name: string;
  choices: string[];
}

/** A clean-room job that builds the candidate's Dockerfile (exercise.yaml `cleanroom[].build`). */
export interface CleanroomBuildSpec {
  /** The sandbox directory copied (through the clean-room sanitiser) as the build context. */
  context: string;
  /** The Dockerfile's path inside the context. */
  dockerfile: string;
  /** Sandbox image names (opslab/sandbox-<name>:latest) a FROM may name; nothing else can be. */
  from: string[];
  /** Absolute globs of paths whose contents are extracted from every layer the Dockerfile made (bounded). */
  inspect: string[];
}

export interface CleanroomSpec {
  id: string;
  /** The sandbox image the job runs in; for a build job, the first of build.from (its run uses the built image). */
  image: string;
  /** The sandbox path copied in; for a build job, its context (so snapshots keep it). */
  copy: string;
  /** Build the candidate's Dockerfile; `run` (may be empty) then runs in a container of the built image. */
  build?: CleanroomBuildSpec;
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
  /**
   * A measurement that wants the CPU to itself as far as the grading goes: it starts once the candidate's files are
   * copied and the grading's other jobs have ended, instead of beside them.
   */
  alone?: boolean;
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

