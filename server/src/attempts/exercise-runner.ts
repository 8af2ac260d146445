import type { Exercise } from '../exercises/catalog.js';
import type { VariantParams } from '../exercises/variants.js';
import type { StoredCheckResult } from '../store/grading-repo.js';

export interface GradeOutcome {
  startedAt: number;
  finishedAt: number;
  score: number;
  maxScore: number;
  results: StoredCheckResult[];
  cleanroom: { id: string; exitCode: number; durationMs: number }[];
}

export interface SnapshotDiff {
  changed: { path: string; change: string }[];
  diff: string;
}

/**
 * What the attempt lifecycle needs from exercises: seeding a sandbox, restarting its services, grading it outside
 * the candidate's reach, and snapshots of its files. The real one runs on the engine (server/src/grading); unit
 * tests use a fake.
 */
export interface ExerciseRunner {
  provision(sandboxId: string, exercise: Exercise, variant: { params: VariantParams; seed: string }): Promise<void>;
  boot(sandboxId: string): Promise<void>;
  /**
   * Grades the live sandbox, or with `snapshotFile` the stored snapshot of its files (then `sandboxId` is needed
   * only by exercises whose checks probe the running sandbox, and may be null otherwise).
   */
  grade(
    sandboxId: string | null,
    exercise: Exercise,
    variant: { params: VariantParams; seed: string },
    attemptId: string,
    snapshotFile?: string,
  ): Promise<GradeOutcome>;
  /** A snapshot in memory: the initial one, of the sandbox as the exercise set it up. */
  snapshot(sandboxId: string, paths: string[]): Promise<Buffer>;
  /**
   * A snapshot streamed to `file` (never held whole in memory), cut at the configured size limit with a note;
   * resolves to its size and whether it was cut.
   */
  snapshotToFile(sandboxId: string, paths: string[], file: string): Promise<{ bytes: number; cut: boolean }>;
  /** The diff of two stored snapshots, given by path. */
  diff(beforeFile: string, afterFile: string): Promise<SnapshotDiff>;
}
