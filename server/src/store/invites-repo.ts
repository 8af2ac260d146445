import type { Db } from './db.js';

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
  constructor(private readonly db: Db) {}

  insert(invite: Omit<Invite, 'exerciseVersion'> & { exerciseVersion?: string | null }): Invite {
    this.db
      .prepare(
        `INSERT INTO invites (id, token_hash, exercise_id, candidate_name, candidate_email, time_limit_seconds,
           show_feedback, note, created_by, created_at, expires_at, revoked_at, attempt_id, claimed_at, exercise_version,
           file_upload, file_download)
         VALUES (@id, @tokenHash, @exerciseId, @candidateName, @candidateEmail, @timeLimitSeconds, @showFeedback,
           @note, @createdBy, @createdAt, @expiresAt, @revokedAt, @attemptId, @claimedAt, @exerciseVersion,
           @fileUpload, @fileDownload)`,
      )
      .run({
        ...invite,
        exerciseVersion: invite.exerciseVersion ?? null,
        showFeedback: invite.showFeedback ? 1 : 0,
        fileUpload: column(invite.fileUpload),
        fileDownload: column(invite.fileDownload),
      });
    return { ...invite, exerciseVersion: invite.exerciseVersion ?? null, fileUpload: invite.fileUpload ?? null, fileDownload: invite.fileDownload ?? null };
  }

  get(id: string): Invite | undefined {
    const row = this.db.prepare('SELECT * FROM invites WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  byTokenHash(hash: string): Invite | undefined {
    const row = this.db.prepare('SELECT * FROM invites WHERE token_hash = ?').get(hash) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  byAttempt(attemptId: string): Invite | undefined {
    const row = this.db.prepare('SELECT * FROM invites WHERE attempt_id = ?').get(attemptId) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  list(filter: { exerciseId?: string } = {}): Invite[] {
    const rows = filter.exerciseId
      ? this.db.prepare('SELECT * FROM invites WHERE exercise_id = ? ORDER BY created_at DESC').all(filter.exerciseId)
      : this.db.prepare('SELECT * FROM invites ORDER BY created_at DESC').all();
    return (rows as Row[]).map(fromRow);
  }

  setAttempt(id: string, attemptId: string): void {
    this.db.prepare('UPDATE invites SET attempt_id = ? WHERE id = ?').run(attemptId, id);
  }

  /**
   * Marks the claim token `tokenHash` as used, once: false when it was used already, replaced by a reissue, or the
   * invite was revoked meanwhile (a compare-and-set, so two browsers racing for one link cannot both win).
   */
  claim(id: string, tokenHash: string, at: number): boolean {
    return (
      this.db
        .prepare('UPDATE invites SET claimed_at = ? WHERE id = ? AND token_hash = ? AND claimed_at IS NULL AND revoked_at IS NULL')
        .run(at, id, tokenHash).changes === 1
    );
  }

  /** A new claim token replaces the old one (which stops working), unclaimed; false when revoked meanwhile. */
  reissue(id: string, tokenHash: string): boolean {
    return (
      this.db
        .prepare('UPDATE invites SET token_hash = ?, claimed_at = NULL WHERE id = ? AND revoked_at IS NULL')
        .run(tokenHash, id).changes === 1
    );
  }

  revoke(id: string, at: number): boolean {
    return this.db.prepare('UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes === 1;
  }

  setTimeLimit(id: string, seconds: number): void {
    this.db.prepare('UPDATE invites SET time_limit_seconds = ? WHERE id = ?').run(seconds, id);
  }
}
