import { placeholders, type Sql } from './sql.js';

export type UserRole = 'admin' | 'interviewer';
export type TokenPurpose = 'setup' | 'activate';

export interface UserRecord {
  id: string;
  email: string;
  name: string;
  role: UserRole;
  passwordHash: string | null;
  createdAt: number;
  createdBy: string | null;
  disabledAt: number | null;
}

export interface AccountToken {
  tokenHash: string;
  purpose: TokenPurpose;
  userId: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export interface SessionRecord {
  idHash: string;
  userId: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  role: UserRole;
  password_hash: string | null;
  created_at: number;
  created_by: string | null;
  disabled_at: number | null;
}

interface TokenRow {
  token_hash: string;
  purpose: TokenPurpose;
  user_id: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

interface SessionRow {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

const userFromRow = (row: UserRow): UserRecord => ({
  id: row.id,
  email: row.email,
  name: row.name,
  role: row.role,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
  createdBy: row.created_by,
  disabledAt: row.disabled_at,
});

const tokenFromRow = (row: TokenRow): AccountToken => ({
  tokenHash: row.token_hash,
  purpose: row.purpose,
  userId: row.user_id,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
});

const sessionFromRow = (row: SessionRow): SessionRecord => ({
  idHash: row.id_hash,
  userId: row.user_id,
  csrfToken: row.csrf_token,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  expiresAt: row.expires_at,
});

/**
 * Whether `err` is a UNIQUE index refusing a row (an email taken, an identity linked twice). Transactions rule out
 * most such clashes; on PostgreSQL one made at the same time by another transaction can still surface as this.
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Users, their one-time account tokens (setup, activation) and their sessions. Only hashes of secrets are stored. */
export class UsersRepo {
  constructor(readonly sql: Sql) {}

  /**
   * Runs fn in one transaction, with the users on it (and its Sql, for other repositories that must join it). On
   * PostgreSQL it may run more than once: fn does nothing but SQL through what it is given.
   */
  transaction<T>(fn: (users: UsersRepo, tx: Sql) => Promise<T>): Promise<T> {
    return this.sql.transaction((tx) => fn(new UsersRepo(tx), tx));
  }

  async count(): Promise<number> {
    return (await this.sql.one<{ n: number }>('SELECT COUNT(*) AS n FROM users'))!.n;
  }

  async insert(user: UserRecord): Promise<void> {
    await this.sql.run(
      `INSERT INTO users (id, email, name, role, password_hash, created_at, created_by, disabled_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [user.id, user.email, user.name, user.role, user.passwordHash, user.createdAt, user.createdBy, user.disabledAt],
    );
  }

  async get(id: string): Promise<UserRecord | null> {
    const row = await this.sql.one<UserRow>('SELECT * FROM users WHERE id = ?', [id]);
    return row ? userFromRow(row) : null;
  }

  /** Emails compare without regard to case (the column's collation, on both databases). */
  async byEmail(email: string): Promise<UserRecord | null> {
    const row = await this.sql.one<UserRow>('SELECT * FROM users WHERE email = ?', [email]);
    return row ? userFromRow(row) : null;
  }

  /**
   * Oldest first. Accounts made in the same millisecond come in the order they were made on SQLite; PostgreSQL keeps
   * no such order, and orders them by id.
   */
  async list(): Promise<UserRecord[]> {
    const tie = this.sql.dialect === 'sqlite' ? 'rowid' : 'id';
    return (await this.sql.all<UserRow>(`SELECT * FROM users ORDER BY created_at, ${tie}`)).map(userFromRow);
  }

  /** The names of the accounts with these ids (ids without an account are left out). */
  async names(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const names = new Map<string, string>();
    // In slices, well under both databases' limits on bound values.
    for (let i = 0; i < unique.length; i += 500) {
      const slice = unique.slice(i, i + 500);
      const rows = await this.sql.all<{ id: string; name: string }>(
        `SELECT id, name FROM users WHERE id IN (${placeholders(slice.length)})`,
        slice,
      );
      for (const row of rows) names.set(row.id, row.name);
    }
    return names;
  }

  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.sql.run('UPDATE users SET password_hash = ? WHERE id = ?', [passwordHash, id]);
  }

  /** False when the account was disabled already (or does not exist). */
  async disable(id: string, at: number): Promise<boolean> {
    return (await this.sql.run('UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL', [at, id])) === 1;
  }

  /** Admins that are not disabled and can sign in (they have a password, or are linked to a single sign-on identity). */
  async activeAdmins(): Promise<UserRecord[]> {
    return (
      await this.sql.all<UserRow>(
        "SELECT * FROM users WHERE role = 'admin' AND disabled_at IS NULL AND (password_hash IS NOT NULL OR oidc_subject IS NOT NULL)",
      )
    ).map(userFromRow);
  }

  // Accounts signed in through an OpenID Connect provider: the provider's issuer and subject name the person.

  async bySubject(issuer: string, subject: string): Promise<UserRecord | null> {
    const row = await this.sql.one<UserRow>('SELECT * FROM users WHERE oidc_issuer = ? AND oidc_subject = ?', [issuer, subject]);
    return row ? userFromRow(row) : null;
  }

  /** The provider's issuer and subject this account is linked to, or null. */
  async subjectOf(id: string): Promise<{ issuer: string; subject: string } | null> {
    const row = await this.sql.one<{ oidc_issuer: string | null; oidc_subject: string | null }>(
      'SELECT oidc_issuer, oidc_subject FROM users WHERE id = ?',
      [id],
    );
    return row?.oidc_issuer && row.oidc_subject ? { issuer: row.oidc_issuer, subject: row.oidc_subject } : null;
  }

  async setSubject(id: string, issuer: string, subject: string): Promise<void> {
    await this.sql.run('UPDATE users SET oidc_issuer = ?, oidc_subject = ? WHERE id = ?', [issuer, subject, id]);
  }

  async setRole(id: string, role: UserRole): Promise<void> {
    await this.sql.run('UPDATE users SET role = ? WHERE id = ?', [role, id]);
  }

  // One-time account tokens.

  async insertToken(token: AccountToken): Promise<void> {
    await this.sql.run(
      `INSERT INTO account_tokens (token_hash, purpose, user_id, created_at, expires_at, used_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      [token.tokenHash, token.purpose, token.userId, token.createdAt, token.expiresAt, token.usedAt],
    );
  }

  async token(tokenHash: string): Promise<AccountToken | null> {
    const row = await this.sql.one<TokenRow>('SELECT * FROM account_tokens WHERE token_hash = ?', [tokenHash]);
    return row ? tokenFromRow(row) : null;
  }

  async deleteTokens(purpose: TokenPurpose): Promise<void> {
    await this.sql.run('DELETE FROM account_tokens WHERE purpose = ?', [purpose]);
  }

  /** Marks a token used, in one conditional statement; false when it was used already (the caller lost a race). */
  async useToken(tokenHash: string, at: number): Promise<boolean> {
    return (await this.sql.run('UPDATE account_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL', [at, tokenHash])) === 1;
  }

  // Sessions.

  async insertSession(session: SessionRecord): Promise<void> {
    await this.sql.run(
      `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      [session.idHash, session.userId, session.csrfToken, session.createdAt, session.lastSeenAt, session.expiresAt],
    );
  }

  async session(idHash: string): Promise<SessionRecord | null> {
    const row = await this.sql.one<SessionRow>('SELECT * FROM sessions WHERE id_hash = ?', [idHash]);
    return row ? sessionFromRow(row) : null;
  }

  /**
   * Slides a session's expiry forward. Only ever forward: a request that read the session before another one touched
   * it changes nothing (and a session ended meanwhile stays ended).
   */
  async touchSession(idHash: string, lastSeenAt: number, expiresAt: number): Promise<void> {
    await this.sql.run('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ? AND last_seen_at < ?', [
      lastSeenAt,
      expiresAt,
      idHash,
      lastSeenAt,
    ]);
  }

  /** False when there was no such session (ended already). */
  async deleteSession(idHash: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM sessions WHERE id_hash = ?', [idHash])) === 1;
  }

  async deleteSessionsOf(userId: string): Promise<number> {
    return this.sql.run('DELETE FROM sessions WHERE user_id = ?', [userId]);
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return this.sql.run('DELETE FROM sessions WHERE expires_at <= ?', [now]);
  }
}
