import type { ApiScope } from '../../../contract/api-tokens.js';
import type { Sql } from './sql.js';

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

/** Whether `err` is the unique index on live token names refusing a second live token with one name. */
function liveNameClash(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  if (e.code === '23505') return e.constraint === 'api_tokens_live_name';
  return e.code === 'SQLITE_CONSTRAINT_UNIQUE' && typeof e.message === 'string' && e.message.includes('api_tokens.name');
}

/** API tokens for automation. */
export class ApiTokensRepo {
  constructor(private readonly sql: Sql) {}

  async insert(token: ApiTokenRecord): Promise<void> {
    await this.sql.run(
      `INSERT INTO api_tokens (id, name, secret_hash, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at, revoked_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        token.id,
        token.name,
        token.secretHash,
        token.prefix,
        JSON.stringify(token.scopes),
        token.createdBy,
        token.createdAt,
        token.expiresAt,
        token.lastUsedAt,
        token.revokedAt,
        token.revokedBy,
      ],
    );
  }

  /**
   * Stores a new token unless a live token has its name or `limit` tokens are live at `now`: the checks and the
   * insert in one transaction, so that tokens created at the same time cannot all pass them.
   */
  async insertLive(token: ApiTokenRecord, now: number, limit: number): Promise<'created' | 'name-taken' | 'too-many'> {
    try {
      return await this.sql.transaction(async (tx) => {
        const repo = new ApiTokensRepo(tx);
        if (await repo.liveNameTaken(token.name)) return 'name-taken';
        if ((await repo.countLive(now)) >= limit) return 'too-many';
        await repo.insert(token);
        return 'created';
      });
    } catch (err) {
      // The unique index has the last word on names.
      if (liveNameClash(err)) return 'name-taken';
      throw err;
    }
  }

  async get(id: string): Promise<ApiTokenRecord | null> {
    const row = await this.sql.one<Row>('SELECT * FROM api_tokens WHERE id = ?', [id]);
    return row ? fromRow(row) : null;
  }

  async bySecretHash(secretHash: string): Promise<ApiTokenRecord | null> {
    const row = await this.sql.one<Row>('SELECT * FROM api_tokens WHERE secret_hash = ?', [secretHash]);
    return row ? fromRow(row) : null;
  }

  /**
   * Newest first. Tokens made in the same millisecond come newest first on SQLite (the order they were made);
   * PostgreSQL keeps no such order, and orders them by id.
   */
  async list(): Promise<ApiTokenRecord[]> {
    const tie = this.sql.dialect === 'sqlite' ? 'rowid' : 'id';
    return (await this.sql.all<Row>(`SELECT * FROM api_tokens ORDER BY created_at DESC, ${tie} DESC`)).map(fromRow);
  }

  /** Tokens neither revoked nor expired at `now`. */
  async countLive(now: number): Promise<number> {
    const row = await this.sql.one<{ n: number }>(
      'SELECT COUNT(*) AS n FROM api_tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)',
      [now],
    );
    return row!.n;
  }

  /** Whether a token that is not revoked has this name. */
  async liveNameTaken(name: string): Promise<boolean> {
    return (await this.sql.one('SELECT 1 AS taken FROM api_tokens WHERE name = ? AND revoked_at IS NULL', [name])) !== undefined;
  }

  /** False when it was revoked already (one conditional statement: of two revocations, one wins). */
  async revoke(id: string, at: number, by: string): Promise<boolean> {
    return (await this.sql.run('UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL', [at, by, id])) === 1;
  }

  async touch(id: string, at: number): Promise<void> {
    await this.sql.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [at, id]);
  }
}
