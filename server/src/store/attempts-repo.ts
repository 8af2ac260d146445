import type { Db } from './db.js';
import type { AttemptMode, AttemptState, EndReason, SandboxStatus } from '../../../contract/attempts.js';

// The attempt's lifecycle values are part of the API; the store keeps them as they are.
export {
  ATTEMPT_MODES,
  ATTEMPT_STATES,
  END_REASONS,
  SANDBOX_STATUSES,
  type AttemptMode,
  type AttemptState,
  type EndReason,
  type SandboxStatus,
} from '../../../contract/attempts.js';

/** States in which the attempt still owns a sandbox that opslab must look after. */
export const ACTIVE_STATES: readonly AttemptState[] = ['created', 'running', 'submitted', 'expired'];

export interface Attempt {
  id: string;
  exerciseId: string;
  state: AttemptState;
  tokenHash: string;
  timeLimitSeconds: number;
  createdAt: number;
  startedAt: number | null;
  deadline: number | null;
  endedAt: number | null;
  endReason: EndReason | null;
  sandboxId: string | null;
  sandboxStatus: SandboxStatus;
  recordingPath: string | null;
  failure: string | null;
  /** The variant seed and the parameters it gave (exercise.yaml `variants`). */
  seed: string | null;
  params: Record<string, string>;
  hintsRevealed: number;
  /** An interview attempt belongs to an invite; practice attempts to whoever holds their token. */
  mode: AttemptMode;
  inviteId: string | null;
  /** Whether the candidate may run checks and see hints (interview invites choose; practice always may). */
  feedback: boolean;
  /** Practice attempts: the hash of the trainee's anonymous practice token (their progress is kept under it). */
  ownerHash: string | null;
  /** The exercise version the attempt was provisioned from (null: started before versions were kept). */
  exerciseVersion: string | null;
  updatedAt: number;
}

interface Row {
  id: string;
  exercise_id: string;
  state: AttemptState;
  token_hash: string;
  time_limit_seconds: number;
  created_at: number;
  started_at: number | null;
  deadline: number | null;
  ended_at: number | null;
  end_reason: EndReason | null;
  sandbox_id: string | null;
  sandbox_status: SandboxStatus;
  recording_path: string | null;
  failure: string | null;
  seed: string | null;
  params: string | null;
  hints_revealed: number;
  mode: AttemptMode;
  invite_id: string | null;
  feedback: number;
  owner_hash: string | null;
  exercise_version: string | null;
  updated_at: number;
}

function fromRow(row: Row): Attempt {
  return {
    id: row.id,
    exerciseId: row.exercise_id,
    state: row.state,
    tokenHash: row.token_hash,
    timeLimitSeconds: row.time_limit_seconds,
    createdAt: row.created_at,
    startedAt: row.started_at,
    deadline: row.deadline,
    endedAt: row.ended_at,
    endReason: row.end_reason,
    sandboxId: row.sandbox_id,
    sandboxStatus: row.sandbox_status,
    recordingPath: row.recording_path,
    failure: row.failure,
    seed: row.seed,
    params: row.params ? (JSON.parse(row.params) as Record<string, string>) : {},
    hintsRevealed: row.hints_revealed,
    mode: row.mode,
    inviteId: row.invite_id,
    feedback: row.feedback === 1,
    ownerHash: row.owner_hash,
    exerciseVersion: row.exercise_version,
    updatedAt: row.updated_at,
  };
}

const COLUMNS: Record<keyof Omit<Attempt, 'id'>, string> = {
  exerciseId: 'exercise_id',
  state: 'state',
  tokenHash: 'token_hash',
  timeLimitSeconds: 'time_limit_seconds',
  createdAt: 'created_at',
  startedAt: 'started_at',
  deadline: 'deadline',
  endedAt: 'ended_at',
  endReason: 'end_reason',
  sandboxId: 'sandbox_id',
  sandboxStatus: 'sandbox_status',
  recordingPath: 'recording_path',
  failure: 'failure',
  seed: 'seed',
  params: 'params',
  hintsRevealed: 'hints_revealed',
  mode: 'mode',
  inviteId: 'invite_id',
  feedback: 'feedback',
  ownerHash: 'owner_hash',
  exerciseVersion: 'exercise_version',
  updatedAt: 'updated_at',
};

export type AttemptPatch = Partial<Omit<Attempt, 'id' | 'updatedAt'>>;

export class AttemptsRepo {
  constructor(private readonly db: Db) {}

  insert(attempt: Omit<Attempt, 'updatedAt' | 'exerciseVersion'> & { exerciseVersion?: string | null }): Attempt {
    const full: Attempt = { ...attempt, exerciseVersion: attempt.exerciseVersion ?? null, updatedAt: Date.now() };
    this.db
      .prepare(
        `INSERT INTO attempts (id, exercise_id, state, token_hash, time_limit_seconds, created_at, started_at, deadline,
           ended_at, end_reason, sandbox_id, sandbox_status, recording_path, failure, seed, params, hints_revealed,
           mode, invite_id, feedback, owner_hash, exercise_version, updated_at)
         VALUES (@id, @exerciseId, @state, @tokenHash, @timeLimitSeconds, @createdAt, @startedAt, @deadline,
           @endedAt, @endReason, @sandboxId, @sandboxStatus, @recordingPath, @failure, @seed, @params, @hintsRevealed,
           @mode, @inviteId, @feedback, @ownerHash, @exerciseVersion, @updatedAt)`,
      )
      .run({ ...full, params: JSON.stringify(full.params), feedback: full.feedback ? 1 : 0 });
    return full;
  }

  get(id: string): Attempt | undefined {
    const row = this.db.prepare('SELECT * FROM attempts WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /**
   * Applies a patch; when `expectState` is given the update only happens if the attempt is still in one of those
   * states (a compare-and-set, so that two transitions racing each other cannot both win). Returns the updated
   * attempt, or undefined when the guard did not match.
   */
  update(id: string, patch: AttemptPatch, expectState?: readonly AttemptState[]): Attempt | undefined {
    const entries = Object.entries(patch).filter(([, v]) => v !== undefined) as [keyof typeof COLUMNS, unknown][];
    const sets = entries.map(([key]) => `${COLUMNS[key]} = @${key}`);
    sets.push('updated_at = @updatedAt');
    const params: Record<string, unknown> = { id, updatedAt: Date.now() };
    for (const [key, value] of entries) {
      params[key] = key === 'params' ? JSON.stringify(value) : typeof value === 'boolean' ? (value ? 1 : 0) : value;
    }
    let guard = '';
    if (expectState) {
      guard = ` AND state IN (${expectState.map((_, i) => `@s${i}`).join(', ')})`;
      expectState.forEach((s, i) => (params[`s${i}`] = s));
    }
    const result = this.db.prepare(`UPDATE attempts SET ${sets.join(', ')} WHERE id = @id${guard}`).run(params);
    return result.changes === 1 ? this.get(id) : undefined;
  }

  listInStates(states: readonly AttemptState[]): Attempt[] {
    const rows = this.db
      .prepare(`SELECT * FROM attempts WHERE state IN (${states.map(() => '?').join(', ')}) ORDER BY created_at`)
      .all(...states) as Row[];
    return rows.map(fromRow);
  }

  /** Attempts that hold (or are about to hold) a sandbox: what counts against capacity (of one mode, if given). */
  countHoldingSandbox(mode?: AttemptMode): number {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS n FROM attempts WHERE state IN ('created', 'running', 'submitted', 'expired')
           AND sandbox_status IN ('provisioning', 'running', 'exited')${mode ? ' AND mode = ?' : ''}`,
      )
      .get(...(mode ? [mode] : [])) as { n: number };
    return row.n;
  }

  /** The attempts of an exercise in the given states, oldest first. */
  listByExercise(exerciseId: string, states: readonly AttemptState[]): Attempt[] {
    const marks = states.map(() => '?').join(', ');
    return (
      this.db
        .prepare(`SELECT * FROM attempts WHERE exercise_id = ? AND state IN (${marks}) ORDER BY created_at`)
        .all(exerciseId, ...states) as Row[]
    ).map(fromRow);
  }

  /** A trainee's practice attempts, newest first. */
  listByOwner(ownerHash: string): Attempt[] {
    const rows = this.db
      .prepare('SELECT * FROM attempts WHERE owner_hash = ? ORDER BY created_at DESC')
      .all(ownerHash) as Row[];
    return rows.map(fromRow);
  }

  /** The running practice attempt that started first: the one an interview takes the place of when full. */
  /** The running practice attempt that started first, leaving out `except` (attempts already being ended). */
  oldestRunningPractice(except: ReadonlySet<string> | readonly string[] = []): Attempt | undefined {
    const skip = [...except];
    const row = this.db
      .prepare(
        `SELECT * FROM attempts WHERE mode = 'practice' AND state = 'running'
           ${skip.length ? `AND id NOT IN (${skip.map(() => '?').join(', ')})` : ''} ORDER BY started_at, created_at LIMIT 1`,
      )
      .get(...skip) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Removes the attempt with its events, gradings and reviews (cascade), and the invite that led to it. */
  delete(id: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM invites WHERE attempt_id = ?').run(id);
      this.db.prepare('DELETE FROM attempts WHERE id = ?').run(id);
    })();
  }

  /** Attempts that are over (archived or failed) and ended before `cutoff` (of one mode, if given). */
  endedBefore(cutoff: number, mode?: AttemptMode): string[] {
    const rows = this.db
      .prepare(
        `SELECT id FROM attempts WHERE state IN ('archived', 'failed') AND COALESCE(ended_at, created_at) < ?
           AND (? IS NULL OR mode = ?) ORDER BY created_at`,
      )
      .all(cutoff, mode ?? null, mode ?? null) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** Deletes invites never started that expired before `cutoff` (the candidate's name and email go with them). */
  purgeUnusedInvites(cutoff: number): number {
    return this.db.prepare('DELETE FROM invites WHERE attempt_id IS NULL AND expires_at < ?').run(cutoff).changes;
  }

  /** Every exercise version an attempt or an invite names (retention keeps their stored copies). */
  exerciseVersionsInUse(): { exerciseId: string; version: string }[] {
    return this.db
      .prepare(
        `SELECT exercise_id AS exerciseId, exercise_version AS version FROM attempts WHERE exercise_version IS NOT NULL
         UNION SELECT exercise_id, exercise_version FROM invites WHERE exercise_version IS NOT NULL`,
      )
      .all() as { exerciseId: string; version: string }[];
  }

  addEvent(attemptId: string, kind: string, detail?: unknown): void {
    this.db
      .prepare('INSERT INTO attempt_events (attempt_id, at, kind, detail) VALUES (?, ?, ?, ?)')
      .run(attemptId, Date.now(), kind, detail === undefined ? null : JSON.stringify(detail));
  }

  events(attemptId: string): { at: number; kind: string; detail: unknown }[] {
    const rows = this.db
      .prepare('SELECT at, kind, detail FROM attempt_events WHERE attempt_id = ? ORDER BY id')
      .all(attemptId) as { at: number; kind: string; detail: string | null }[];
    return rows.map((r) => ({ at: r.at, kind: r.kind, detail: r.detail === null ? null : JSON.parse(r.detail) }));
  }

  /** The attempt's events of these kinds only, oldest first. */
  eventsOfKinds(attemptId: string, kinds: readonly string[]): { at: number; kind: string; detail: unknown }[] {
    if (kinds.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT at, kind, detail FROM attempt_events WHERE attempt_id = ? AND kind IN (${kinds.map(() => '?').join(', ')}) ORDER BY id`)
      .all(attemptId, ...kinds) as { at: number; kind: string; detail: string | null }[];
    return rows.map((r) => ({ at: r.at, kind: r.kind, detail: r.detail === null ? null : JSON.parse(r.detail) }));
  }
}
