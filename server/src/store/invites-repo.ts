import type { Sql } from './sql.js';
import type { AttemptState, EndReason } from '../../../contract/attempts.js';

export interface Invite {
  id: string;
  tokenHash: string;
  exerciseId: string;
  candidateName: string;
  candidateEmail: string;
  timeLimitSeconds: number;
  showFeedback: boolean;
  note: string | null;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  attemptId: string | null;
  /**
   * When the current claim token was used to start (or take over) the attempt; null while unclaimed. A claimed link
   * opens no attempt: the browser that claimed it holds the attempt's own credential.
   */
  claimedAt: number | null;
  /** The exercise version the invite was made with, which its attempt gets (null: made before versions were kept). */
  exerciseVersion: string | null;
  /** Uploads and downloads in the workspace (null: the exercise's default). */
  fileUpload?: boolean | null;
  fileDownload?: boolean | null;
}

/** What an invite's status needs of its attempt. */
export interface InviteAttemptState {
  state: AttemptState;
  endReason: EndReason | null;
}

/** An invite as listed: with its attempt's state, read with it (null: no attempt, or one that is gone). */
export interface ListedInvite extends Invite {
  attempt: InviteAttemptState | null;
}

interface Row {
  id: string;
  token_hash: string;
  exercise_id: string;
  candidate_name: string;
  candidate_email: string;
  time_limit_seconds: number;
  show_feedback: number;
  note: string | null;
  created_by: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  attempt_id: string | null;
  claimed_at: number | null;
  exercise_version: string | null;
  file_upload: number | null;
  file_download: number | null;
}

const flag = (v: number | null | undefined): boolean | null => (v === null || v === undefined ? null : v === 1);
const column = (v: boolean | null | undefined): number | null => (v === null || v === undefined ? null : v ? 1 : 0);

const fromRow = (r: Row): Invite => ({
  id: r.id,
  tokenHash: r.token_hash,
  exerciseId: r.exercise_id,
  candidateName: r.candidate_name,
  candidateEmail: r.candidate_email,
  timeLimitSeconds: r.time_limit_seconds,
  showFeedback: r.show_feedback === 1,
  note: r.note,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  attemptId: r.attempt_id,
  claimedAt: r.claimed_at,
  exerciseVersion: r.exercise_version,
  fileUpload: flag(r.file_upload),
  fileDownload: flag(r.file_download),
});

export class InvitesRepo {
  constructor(private readonly sql: Sql) {}

  async insert(invite: Omit<Invite, 'exerciseVersion'> & { exerciseVersion?: string | null }): Promise<Invite> {
    await this.sql.run(
      `INSERT INTO invites (id, token_hash, exercise_id, candidate_name, candidate_email, time_limit_seconds,
         show_feedback, note, created_by, created_at, expires_at, revoked_at, attempt_id, claimed_at, exercise_version,
         file_upload, file_download)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        invite.id,
        invite.tokenHash,
        invite.exerciseId,
        invite.candidateName,
        invite.candidateEmail,
        invite.timeLimitSeconds,
        invite.showFeedback ? 1 : 0,
        invite.note,
        invite.createdBy,
        invite.createdAt,
        invite.expiresAt,
        invite.revokedAt,
        invite.attemptId,
        invite.claimedAt,
        invite.exerciseVersion ?? null,
        column(invite.fileUpload),
        column(invite.fileDownload),
      ],
    );
    return { ...invite, exerciseVersion: invite.exerciseVersion ?? null, fileUpload: invite.fileUpload ?? null, fileDownload: invite.fileDownload ?? null };
  }

  get(id: string): Promise<Invite | undefined> {
    return this.oneWhere('id = ?', id);
  }

  byTokenHash(hash: string): Promise<Invite | undefined> {
    return this.oneWhere('token_hash = ?', hash);
  }

  byAttempt(attemptId: string): Promise<Invite | undefined> {
    return this.oneWhere('attempt_id = ?', attemptId);
  }

  private async oneWhere(condition: string, value: string): Promise<Invite | undefined> {
    const row = await this.sql.one<Row>(`SELECT * FROM invites WHERE ${condition}`, [value]);
    return row ? fromRow(row) : undefined;
  }

  /** The invites newest first (of one exercise, if given), each with its attempt's state: one read, however many. */
  async list(filter: { exerciseId?: string } = {}): Promise<ListedInvite[]> {
    const rows = await this.sql.all<Row & { attempt_state: AttemptState | null; attempt_end_reason: EndReason | null }>(
      `SELECT i.*, a.state AS attempt_state, a.end_reason AS attempt_end_reason
       FROM invites i LEFT JOIN attempts a ON a.id = i.attempt_id
       ${filter.exerciseId ? 'WHERE i.exercise_id = ?' : ''} ORDER BY i.created_at DESC`,
      filter.exerciseId ? [filter.exerciseId] : [],
    );
    return rows.map((r) => ({
      ...fromRow(r),
      attempt: r.attempt_state === null ? null : { state: r.attempt_state, endReason: r.attempt_end_reason },
    }));
  }

  async setAttempt(id: string, attemptId: string): Promise<void> {
    await this.sql.run('UPDATE invites SET attempt_id = ? WHERE id = ?', [attemptId, id]);
  }

  /**
   * Marks the claim token `tokenHash` as used, once: false when it was used already, replaced by a reissue, or the
   * invite was revoked meanwhile (a compare-and-set, so two browsers racing for one link cannot both win).
   */
  async claim(id: string, tokenHash: string, at: number): Promise<boolean> {
    const changed = await this.sql.run(
      'UPDATE invites SET claimed_at = ? WHERE id = ? AND token_hash = ? AND claimed_at IS NULL AND revoked_at IS NULL',
      [at, id, tokenHash],
    );
    return changed === 1;
  }

  /** A new claim token replaces the old one (which stops working), unclaimed; false when revoked meanwhile. */
  async reissue(id: string, tokenHash: string): Promise<boolean> {
    return (await this.sql.run('UPDATE invites SET token_hash = ?, claimed_at = NULL WHERE id = ? AND revoked_at IS NULL', [tokenHash, id])) === 1;
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return (await this.sql.run('UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])) === 1;
  }

  /** Raises the time limit by `seconds` (an increment: two extensions at once both count). */
  async addTime(id: string, seconds: number): Promise<void> {
    await this.sql.run('UPDATE invites SET time_limit_seconds = time_limit_seconds + ? WHERE id = ?', [seconds, id]);
  }
}
