// Attempts and exercises as the API shows them (docs/api.md, "Exercises" and "Attempts").

import { ID_PATTERNS, idParams, Type, type Static } from './schema.js';

export const ATTEMPT_STATES = ['created', 'running', 'submitted', 'expired', 'archived', 'failed'] as const;
export type AttemptState = (typeof ATTEMPT_STATES)[number];

export const END_REASONS = ['submitted', 'expired', 'revoked', 'preempted'] as const;
export type EndReason = (typeof END_REASONS)[number];

export const ATTEMPT_MODES = ['interview', 'practice'] as const;
export type AttemptMode = (typeof ATTEMPT_MODES)[number];

export const SANDBOX_STATUSES = ['provisioning', 'running', 'exited', 'missing', 'removed'] as const;
export type SandboxStatus = (typeof SANDBOX_STATUSES)[number];

/** `Attempt` of docs/api.md. */
export interface AttemptView {
  id: string;
  exerciseId: string;
  state: AttemptState;
  createdAt: string;
  startedAt: string | null;
  deadline: string | null;
  endedAt: string | null;
  endReason: EndReason | null;
  sandbox: SandboxStatus;
  serverTime: string;
  mode: AttemptMode;
  /** Whether "Check my progress" is offered (interview invites may turn it off). */
  checksAllowed: boolean;
  hintsAllowed: boolean;
  /** A grading of this attempt waiting in the server's grading queue (with how many are ahead) or running. */
  grading?: GradingState | null;
}

/** Where an attempt's grading (a check run, its final grading, a regrade) stands in the server's queue. */
export type GradingState = { state: 'queued'; ahead: number } | { state: 'running' };

export type Difficulty = 'easy' | 'medium' | 'hard' | (string & {});

export interface ExerciseSummary {
  id: string;
  title: string;
  summary: string;
  difficulty: Difficulty;
  timeLimitMinutes: number;
  image: string;
  /** Scorecard dimension ids (see scorecard.ts). */
  skills: string[];
}

export interface ExerciseCheck {
  id: string;
  title: string;
  points: number;
  /** Judged by a person: its points count only once a reviewer confirms a verdict (contract/grade.ts). */
  advisory: boolean;
}

export interface Exercise extends ExerciseSummary {
  /** Markdown. */
  instructions: string;
  /** What the checks look at; their scripts and messages stay on the server. */
  checks: ExerciseCheck[];
  /** How many hints the exercise has; their text comes one at a time from the attempt. */
  hintCount: number;
  /** Whether the workspace offers the file editor (exercise.yaml `editor:`); absent from older servers: no editor. */
  editor?: boolean;
}

/** `error`: the grader itself broke; never the candidate's failure. */
export type CheckVerdict = 'pass' | 'fail' | 'error';

/** One check's result as the grader reports it (and the store keeps it). */
export interface CheckResult extends ExerciseCheck {
  /** Whether the candidate may see the message. */
  visible: boolean;
  verdict: CheckVerdict;
  /** The check's stdout (for the candidate), cut at 4 KiB. */
  message: string;
  /** The check's stderr (for the interviewer), cut at 4 KiB. */
  details: string;
  durationMs: number;
}

/** One check's result as the candidate sees it. */
export interface CandidateCheckResult extends ExerciseCheck {
  verdict: CheckVerdict;
  /** What the check said; null when the exercise keeps it from the candidate. */
  message: string | null;
}

/** A grading run as the candidate sees it (`POST /api/attempts/:id/checks`, `GET …/grading`). */
export interface CandidateCheckRun {
  kind: 'progress' | 'final';
  finishedAt: string;
  score: number;
  maxScore: number;
  /** Points of advisory checks, counted in neither score nor maxScore until a reviewer confirms them. */
  pendingPoints: number;
  /** Set when the run as a whole could not be carried out. */
  error: string | null;
  checks: CandidateCheckResult[];
}

export interface HintsView {
  /** The revealed hints, in order. */
  revealed: string[];
  total: number;
}

// ---- requests ---------------------------------------------------------------------------------------------

export const ExerciseParams = Type.Object({ id: Type.String({ pattern: ID_PATTERNS.exercise }) }, { additionalProperties: false });
export const AttemptParams = idParams(ID_PATTERNS.attempt);
export type AttemptParams = Static<typeof AttemptParams>;

/** `POST /api/attempts`: a practice attempt. */
export const CreateAttemptBody = Type.Object(
  { exerciseId: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
export type CreateAttemptBody = Static<typeof CreateAttemptBody>;

/** Where an exercise is offered (its exercise.yaml `modes`). */
export type ExerciseMode = 'interview' | 'practice';

/** `GET /api/manage/exercises` (staff): every exercise, with where it is offered. */
export interface StaffExerciseSummary extends ExerciseSummary {
  modes: ExerciseMode[];
  /** Whether practice offers it now (the operator's OPSLAB_PRACTICE_EXERCISES over `modes`). */
  practice: boolean;
  /** The current version (sha256 of the exercise directory): what a new invite pins. */
  version: string;
  /** Where it comes from: the local folder, or a repository (without credentials) and the commit it was published from. */
  source?: ExerciseSource;
  /** The last version that failed to publish after the current one was published, if any. */
  lastFailure?: ExercisePublishFailure;
}

export type ExerciseSource =
  | { kind: 'local'; location: string }
  | { kind: 'git'; location: string; commit: string; publishedAt: string };

/** A version of an exercise from git that was not published, and why. */
export interface ExercisePublishFailure {
  exerciseId: string;
  version: string;
  source: string;
  commit: string;
  stage: 'validation' | 'self-test' | 'conflict';
  problems: string[];
  failedAt: string;
}

/** A repository of exercises (OPSLAB_EXERCISES_GIT) and its last fetch. */
export interface ExerciseRepositoryState {
  source: string;
  commit: string | null;
  fetchedAt: string | null;
  error: string | null;
  /** The exercise being self-tested now. */
  testing: string | null;
}
