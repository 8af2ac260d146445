import type { Sql } from './sql.js';

/** An exercise from a git repository that passed its validation and self-test: the version new invites get. */
export interface Publication {
  exerciseId: string;
  /** The repository (without credentials) and ref it came from. */
  source: string;
  commit: string;
  version: string;
  publishedAt: number;
}

/** A version of an exercise that was not published: where it came from and what failed. */
export interface PublishFailure {
  exerciseId: string;
  version: string;
  source: string;
  commit: string;
  /** 'fetch' never happens here (a repository's fetch error is per source); 'validation', 'self-test', 'conflict'. */
  stage: 'validation' | 'self-test' | 'conflict';
  problems: string[];
  failedAt: number;
}

interface PublicationRow {
  exercise_id: string;
  source: string;
  commit_sha: string;
  version: string;
  published_at: number;
}

interface FailureRow {
  exercise_id: string;
  version: string;
  source: string;
  commit_sha: string;
  stage: PublishFailure['stage'];
  problems: string;
  failed_at: number;
}

/** What publish.ts decided: the published version of each exercise from git, and the versions that failed. */
export class ExerciseSourcesRepo {
  constructor(private readonly sql: Sql) {}

  async publications(): Promise<Publication[]> {
    const rows = await this.sql.all<PublicationRow>('SELECT * FROM exercise_publications ORDER BY exercise_id');
    return rows.map((r) => ({
      exerciseId: r.exercise_id,
      source: r.source,
      commit: r.commit_sha,
      version: r.version,
      publishedAt: r.published_at,
    }));
  }

  async publish(p: Publication): Promise<void> {
    await this.sql.run(
      `INSERT INTO exercise_publications (exercise_id, source, commit_sha, version, published_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (exercise_id) DO UPDATE SET source = excluded.source, commit_sha = excluded.commit_sha,
         version = excluded.version, published_at = excluded.published_at`,
      [p.exerciseId, p.source, p.commit, p.version, p.publishedAt],
    );
  }

  async unpublish(exerciseId: string): Promise<void> {
    await this.sql.run('DELETE FROM exercise_publications WHERE exercise_id = ?', [exerciseId]);
  }

  async recordFailure(f: PublishFailure): Promise<void> {
    await this.sql.run(
      `INSERT INTO exercise_publish_failures (exercise_id, version, source, commit_sha, stage, problems, failed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (exercise_id, version) DO UPDATE SET source = excluded.source, commit_sha = excluded.commit_sha,
         stage = excluded.stage, problems = excluded.problems, failed_at = excluded.failed_at`,
      [f.exerciseId, f.version, f.source, f.commit, f.stage, JSON.stringify(f.problems), f.failedAt],
    );
  }

  /** The failure of this version, if it failed before (a version is self-tested once). */
  async failure(exerciseId: string, version: string): Promise<PublishFailure | undefined> {
    const row = await this.sql.one<FailureRow>('SELECT * FROM exercise_publish_failures WHERE exercise_id = ? AND version = ?', [exerciseId, version]);
    return row && toFailure(row);
  }

  /** The latest failure of each exercise (of two failed in the same millisecond, the first version by name). */
  async lastFailures(): Promise<PublishFailure[]> {
    const rows = await this.sql.all<FailureRow>(
      `SELECT f.* FROM exercise_publish_failures f
       WHERE f.failed_at = (SELECT MAX(failed_at) FROM exercise_publish_failures g WHERE g.exercise_id = f.exercise_id)
       ORDER BY f.exercise_id, f.version`,
    );
    const seen = new Set<string>();
    return rows.map(toFailure).filter((f) => !seen.has(f.exerciseId) && seen.add(f.exerciseId));
  }
}

function toFailure(r: FailureRow): PublishFailure {
  return {
    exerciseId: r.exercise_id,
    version: r.version,
    source: r.source,
    commit: r.commit_sha,
    stage: r.stage,
    problems: JSON.parse(r.problems) as string[],
    failedAt: r.failed_at,
  };
}
