// The exercises this server offers: each directory of the exercises folder loaded (load-exercise.ts), stored as a
// version when a version store is given, and served by id, by (id, version) for pinned invites, or as published
// from git. Re-exports the exercise types (exercise-spec.ts) its importers use.

import fs from 'node:fs';
import path from 'node:path';
import { ExerciseChangedError, type ExerciseVersionStore } from './versions.js';
import type { Exercise, ExerciseProblem } from './exercise-spec.js';
import { loadExercise } from './load-exercise.js';

export { exerciseVersion } from './versions.js';
export * from './exercise-spec.js';
export { formatProblem, loadExercise } from './load-exercise.js';

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

