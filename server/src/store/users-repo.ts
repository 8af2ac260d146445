import type { Db } from './db.js';

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

/** Users, their one-time account tokens (setup, activation) and their sessions. Only hashes of secrets are stored. */
export class UsersRepo {
  constructor(readonly db: Db) {}

  /** Runs fn in one SQLite transaction (synchronous: nothing else touches the database meanwhile). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  insert(user: UserRecord): void {
    this.db
      .prepare(
        `INSERT INTO users (id, email, name, role, password_hash, created_at, created_by, disabled_at)
         VALUES (@id, @email, @name, @role, @passwordHash, @createdAt, @createdBy, @disabledAt)`,
      )
      .run(user);
  }

  get(id: string): UserRecord | null {
    const row = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return row ? userFromRow(row) : null;
  }

  /** Emails compare without regard to case. */
  byEmail(email: string): UserRecord | null {
    const row = this.db.prepare('SELECT * FROM users WHERE email = ?').get(email) as UserRow | undefined;
    return row ? userFromRow(row) : null;
  }

  list(): UserRecord[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY created_at, rowid').all() as UserRow[]).map(userFromRow);
  }

  setPassword(id: string, passwordHash: string): void {
    this.db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(passwordHash, id);
  }

  disable(id: string, at: number): void {
    this.db.prepare('UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL').run(at, id);
  }

  /** Admins that are not disabled and can sign in (they have a password, or are linked to a single sign-on identity). */
  activeAdmins(): UserRecord[] {
    return (
      this.db
        .prepare(
          "SELECT * FROM users WHERE role = 'admin' AND disabled_at IS NULL AND (password_hash IS NOT NULL OR oidc_subject IS NOT NULL)",
        )
        .all() as UserRow[]
    ).map(userFromRow);
  }

  // Accounts signed in through an OpenID Connect provider: the provider's issuer and subject name the person.

  bySubject(issuer: string, subject: string): UserRecord | null {
    const row = this.db.prepare('SELECT * FROM users WHERE oidc_issuer = ? AND oidc_subject = ?').get(issuer, subject) as
      | UserRow
      | undefined;
    return row ? userFromRow(row) : null;
  }

  /** The provider's issuer and subject this account is linked to, or null. */
  subjectOf(id: string): { issuer: string; subject: string } | null {
    const row = this.db.prepare('SELECT oidc_issuer, oidc_subject FROM users WHERE id = ?').get(id) as
      | { oidc_issuer: string | null; oidc_subject: string | null }
      | undefined;
    return row?.oidc_issuer && row.oidc_subject ? { issuer: row.oidc_issuer, subject: row.oidc_subject } : null;
  }

  setSubject(id: string, issuer: string, subject: string): void {
    this.db.prepare('UPDATE users SET oidc_issuer = ?, oidc_subject = ? WHERE id = ?').run(issuer, subject, id);
  }

  setRole(id: string, role: UserRole): void {
    this.db.prepare('UPDATE users SET role = ? WHERE id = ?').run(role, id);
  }

  // One-time account tokens.

  insertToken(token: AccountToken): void {
    this.db
      .prepare(
        `INSERT INTO account_tokens (token_hash, purpose, user_id, created_at, expires_at, used_at)
         VALUES (@tokenHash, @purpose, @userId, @createdAt, @expiresAt, @usedAt)`,
      )
      .run(token);
  }

  token(tokenHash: string): AccountToken | null {
    const row = this.db.prepare('SELECT * FROM account_tokens WHERE token_hash = ?').get(tokenHash) as
      | TokenRow
      | undefined;
    return row ? tokenFromRow(row) : null;
  }

  deleteTokens(purpose: TokenPurpose): void {
    this.db.prepare('DELETE FROM account_tokens WHERE purpose = ?').run(purpose);
  }

  /** Marks a token used; false when it was used already (the caller lost a race). */
  useToken(tokenHash: string, at: number): boolean {
    return (
      this.db.prepare('UPDATE account_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL').run(at, tokenHash)
        .changes === 1
    );
  }

  // Sessions.

  insertSession(session: SessionRecord): void {
    this.db
      .prepare(
        `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)
         VALUES (@idHash, @userId, @csrfToken, @createdAt, @lastSeenAt, @expiresAt)`,
      )
      .run(session);
  }

  session(idHash: string): SessionRecord | null {
    const row = this.db.prepare('SELECT * FROM sessions WHERE id_hash = ?').get(idHash) as SessionRow | undefined;
    return row ? sessionFromRow(row) : null;
  }

  touchSession(idHash: string, lastSeenAt: number, expiresAt: number): void {
    this.db
      .prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?')
      .run(lastSeenAt, expiresAt, idHash);
  }

  deleteSession(idHash: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
  }

  deleteSessionsOf(userId: string): number {
    return this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(userId).changes;
  }

  deleteExpiredSessions(now: number): number {
    return this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now).changes;
  }
}
