import type { ApiScope } from '../../../contract/api-tokens.js';
import type { Db } from './db.js';

/** An API token as stored: the secret itself never is, only its SHA-256. */
export interface ApiTokenRecord {
  id: string;
  name: string;
  secretHash: string;
  prefix: string;
  scopes: ApiScope[];
  createdBy: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  revokedBy: string | null;
}

interface Row {
  id: string;
  name: string;
  secret_hash: string;
  prefix: string;
  scopes: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
}

const fromRow = (row: Row): ApiTokenRecord => ({
  id: row.id,
  name: row.name,
  secretHash: row.secret_hash,
  prefix: row.prefix,
  scopes: JSON.parse(row.scopes) as ApiScope[],
  createdBy: row.created_by,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
  revokedBy: row.revoked_by,
});

/** API tokens for automation. */
export class ApiTokensRepo {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  insert(token: ApiTokenRecord): void {
    this.db
      .prepare(
        `INSERT INTO api_tokens (id, name, secret_hash, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at, revoked_by)
         VALUES (@id, @name, @secretHash, @prefix, @scopes, @createdBy, @createdAt, @expiresAt, @lastUsedAt, @revokedAt, @revokedBy)`,
      )
      .run({ ...token, scopes: JSON.stringify(token.scopes) });
  }

  get(id: string): ApiTokenRecord | null {
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  bySecretHash(secretHash: string): ApiTokenRecord | null {
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE secret_hash = ?').get(secretHash) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  /** Newest first. */
  list(): ApiTokenRecord[] {
    return (this.db.prepare('SELECT * FROM api_tokens ORDER BY created_at DESC, rowid DESC').all() as Row[]).map(fromRow);
  }

  /** Tokens neither revoked nor expired at `now`. */
  countLive(now: number): number {
    return (
      this.db
        .prepare('SELECT COUNT(*) AS n FROM api_tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)')
        .get(now) as { n: number }
    ).n;
  }

  /** Whether a token that is not revoked has this name. */
  liveNameTaken(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL').get(name) !== undefined;
  }

  /** False when it was revoked already. */
  revoke(id: string, at: number, by: string): boolean {
    return (
      this.db.prepare('UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL').run(at, by, id)
        .changes === 1
    );
  }

  touch(id: string, at: number): void {
    this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(at, id);
  }
}
