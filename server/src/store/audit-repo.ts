import type { Sql } from './sql.js';

export interface AuditRecord {
  id: number;
  at: number;
  userId: string | null;
  /** The user's name at the time of reading; null for entries without a user or a deleted user. */
  userName: string | null;
  action: string;
  /** `token:<name>` when an API token acted for the user; null for the user in person. */
  actor: string | null;
  attemptId: string | null;
  inviteId: string | null;
  detail: unknown;
}

interface Row {
  id: number;
  at: number;
  user_id: string | null;
  user_name: string | null;
  action: string;
  actor: string | null;
  attempt_id: string | null;
  invite_id: string | null;
  detail: string | null;
}

/** The append-only audit log: who did what and when. */
export class AuditRepo {
  constructor(private readonly sql: Sql) {}

  async insert(entry: {
    at: number;
    userId: string | null;
    action: string;
    attemptId: string | null;
    inviteId: string | null;
    detail: unknown;
    actor?: string | null;
  }): Promise<void> {
    await this.sql.run(
      'INSERT INTO audit_log (at, user_id, action, attempt_id, invite_id, detail, actor) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [
        entry.at,
        entry.userId,
        entry.action,
        entry.attemptId,
        entry.inviteId,
        entry.detail === undefined || entry.detail === null ? null : JSON.stringify(entry.detail),
        entry.actor ?? null,
      ],
    );
  }

  /** The newest entries first (in the order they were written). */
  async list(limit: number): Promise<AuditRecord[]> {
    const rows = await this.sql.all<Row>(
      `SELECT a.*, u.name AS user_name FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
       ORDER BY a.id DESC LIMIT ?`,
      [limit],
    );
    return rows.map((row) => ({
      id: row.id,
      at: row.at,
      userId: row.user_id,
      userName: row.user_name,
      action: row.action,
      actor: row.actor,
      attemptId: row.attempt_id,
      inviteId: row.invite_id,
      detail: row.detail === null ? null : (JSON.parse(row.detail) as unknown),
    }));
  }
}
