import { placeholders, type Sql, type SqlValue } from './sql.js';
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

/** A field's value as stored: parameters as JSON, flags as 0/1. */
function stored(key: keyof typeof COLUMNS, value: unknown): SqlValue {
  if (key === 'params') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value as SqlValue;
}

type EventRow = { at: number; kind: string; detail: string | null };
const fromEventRow = (r: EventRow) => ({ at: r.at, kind: r.kind, detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown) });

export class AttemptsRepo {
  constructor(private readonly sql: Sql) {}

  async insert(attempt: Omit<Attempt, 'updatedAt' | 'exerciseVersion'> & { exerciseVersion?: string | null }): Promise<Attempt> {
    const full: Attempt = { ...attempt, exerciseVersion: attempt.exerciseVersion ?? null, updatedAt: Date.now() };
    const keys = Object.keys(COLUMNS) as (keyof typeof COLUMNS)[];
    await this.sql.run(
      `INSERT INTO attempts (id, ${keys.map((k) => COLUMNS[k]).join(', ')}) VALUES (?, ${placeholders(keys.length)})`,
      [full.id, ...keys.map((k) => stored(k, full[k]))],
    );
    return full;
  }

  /**
   * Admission: inserts the attempt, owned by `owner` until `leaseUntil`, only if it fits. Counted in one exclusive
   * transaction with every other start on this database (whatever the number of servers): the attempts holding a
   * sandbox, this replica's `reserved` sandboxes and the other live replicas' as they last reported them (seen at or
   * after `liveSince`). False when it does not fit (nothing is written).
   */
  async insertAdmitted(
    attempt: Omit<Attempt, 'updatedAt' | 'exerciseVersion'> & { exerciseVersion?: string | null },
    admission: { owner: string; leaseUntil: number; limit: number; modeLimit: number | null; reserved: number; liveSince: number },
  ): Promise<boolean> {
    return this.sql.transaction(
      async (tx) => {
        const repo = new AttemptsRepo(tx);
        const others = await tx.one<{ n: number | null }>('SELECT SUM(reserved) AS n FROM replicas WHERE id <> ? AND seen_at >= ?', [
          admission.owner,
          admission.liveSince,
        ]);
        const held = (await repo.countHoldingSandbox()) + admission.reserved + (others?.n ?? 0);
        if (held + 1 > admission.limit) return false;
        if (admission.modeLimit !== null && (await repo.countHoldingSandbox(attempt.mode)) + 1 > admission.modeLimit) return false;
        await repo.insert(attempt);
        await tx.run('UPDATE attempts SET owner = ?, owner_epoch = 1, lease_until = ? WHERE id = ?', [admission.owner, admission.leaseUntil, attempt.id]);
        return true;
      },
      { exclusive: 'opslab.admission' },
    );
  }

  async get(id: string): Promise<Attempt | undefined> {
    const row = await this.sql.one<Row>('SELECT * FROM attempts WHERE id = ?', [id]);
    return row ? fromRow(row) : undefined;
  }

  /**
   * Applies a patch; when `expectState` is given the update only happens if the attempt is still in one of those
   * states (a compare-and-set, so that two transitions racing each other cannot both win). Returns the updated
   * attempt, or undefined when the guard did not match.
   */
  async update(id: string, patch: AttemptPatch, expectState?: readonly AttemptState[]): Promise<Attempt | undefined> {
    const entries = Object.entries(patch).filter(([, v]) => v !== undefined) as [keyof typeof COLUMNS, unknown][];
    const sets = [...entries.map(([key]) => `${COLUMNS[key]} = ?`), 'updated_at = ?'];
    const params: SqlValue[] = [...entries.map(([key, value]) => stored(key, value)), Date.now(), id];
    const guard = expectState ? ` AND state IN (${placeholders(expectState.length)})` : '';
    const row = await this.sql.one<Row>(
      `UPDATE attempts SET ${sets.join(', ')} WHERE id = ?${guard} RETURNING *`,
      [...params, ...(expectState ?? [])],
    );
    return row ? fromRow(row) : undefined;
  }

  async listInStates(states: readonly AttemptState[]): Promise<Attempt[]> {
    const rows = await this.sql.all<Row>(`SELECT * FROM attempts WHERE state IN (${placeholders(states.length)}) ORDER BY created_at`, states);
    return rows.map(fromRow);
  }

  /** Attempts that hold (or are about to hold) a sandbox: what counts against capacity (of one mode, if given). */
  async countHoldingSandbox(mode?: AttemptMode): Promise<number> {
    const row = await this.sql.one<{ n: number }>(
      `SELECT COUNT(*) AS n FROM attempts WHERE state IN ('created', 'running', 'submitted', 'expired')
         AND sandbox_status IN ('provisioning', 'running', 'exited')${mode ? ' AND mode = ?' : ''}`,
      mode ? [mode] : [],
    );
    return row!.n;
  }

  /** The attempts of an exercise in the given states, oldest first. */
  async listByExercise(exerciseId: string, states: readonly AttemptState[]): Promise<Attempt[]> {
    const rows = await this.sql.all<Row>(
      `SELECT * FROM attempts WHERE exercise_id = ? AND state IN (${placeholders(states.length)}) ORDER BY created_at`,
      [exerciseId, ...states],
    );
    return rows.map(fromRow);
  }

  /** A trainee's practice attempts, newest first. */
  async listByOwner(ownerHash: string): Promise<Attempt[]> {
    const rows = await this.sql.all<Row>('SELECT * FROM attempts WHERE owner_hash = ? ORDER BY created_at DESC', [ownerHash]);
    return rows.map(fromRow);
  }

  /** The running practice attempt that started first, leaving out `except` (attempts already being ended). */
  async oldestRunningPractice(except: ReadonlySet<string> | readonly string[] = []): Promise<Attempt | undefined> {
    const skip = [...except];
    const row = await this.sql.one<Row>(
      `SELECT * FROM attempts WHERE mode = 'practice' AND state = 'running'
         ${skip.length ? `AND id NOT IN (${placeholders(skip.length)})` : ''} ORDER BY started_at, created_at LIMIT 1`,
      skip,
    );
    return row ? fromRow(row) : undefined;
  }

  /** Removes the attempt with its events, gradings and reviews (cascade), and the invite that led to it. */
  async delete(id: string): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.run('DELETE FROM invites WHERE attempt_id = ?', [id]);
      await tx.run('DELETE FROM attempts WHERE id = ?', [id]);
    });
  }

  /** Attempts that are over (archived or failed) and ended before `cutoff` (of one mode, if given). */
  async endedBefore(cutoff: number, mode?: AttemptMode): Promise<string[]> {
    const rows = await this.sql.all<{ id: string }>(
      `SELECT id FROM attempts WHERE state IN ('archived', 'failed') AND COALESCE(ended_at, created_at) < ?
         ${mode ? 'AND mode = ?' : ''} ORDER BY created_at`,
      mode ? [cutoff, mode] : [cutoff],
    );
    return rows.map((r) => r.id);
  }

  /** Deletes invites never started that expired before `cutoff` (the candidate's name and email go with them). */
  purgeUnusedInvites(cutoff: number): Promise<number> {
    return this.sql.run('DELETE FROM invites WHERE attempt_id IS NULL AND expires_at < ?', [cutoff]);
  }

  /** Every exercise version an attempt or an invite names (retention keeps their stored copies). */
  exerciseVersionsInUse(): Promise<{ exerciseId: string; version: string }[]> {
    return this.sql.all(
      `SELECT exercise_id AS "exerciseId", exercise_version AS version FROM attempts WHERE exercise_version IS NOT NULL
       UNION SELECT exercise_id, exercise_version FROM invites WHERE exercise_version IS NOT NULL`,
    );
  }

  async addEvent(attemptId: string, kind: string, detail?: unknown): Promise<void> {
    await this.sql.run('INSERT INTO attempt_events (attempt_id, at, kind, detail) VALUES (?, ?, ?, ?)', [
      attemptId,
      Date.now(),
      kind,
      detail === undefined ? null : JSON.stringify(detail),
    ]);
  }

  async events(attemptId: string): Promise<{ at: number; kind: string; detail: unknown }[]> {
    const rows = await this.sql.all<EventRow>('SELECT at, kind, detail FROM attempt_events WHERE attempt_id = ? ORDER BY id', [attemptId]);
    return rows.map(fromEventRow);
  }

  /** The attempt's events of these kinds only, oldest first. */
  async eventsOfKinds(attemptId: string, kinds: readonly string[]): Promise<{ at: number; kind: string; detail: unknown }[]> {
    if (kinds.length === 0) return [];
    const rows = await this.sql.all<EventRow>(
      `SELECT at, kind, detail FROM attempt_events WHERE attempt_id = ? AND kind IN (${placeholders(kinds.length)}) ORDER BY id`,
      [attemptId, ...kinds],
    );
    return rows.map(fromEventRow);
  }
}
