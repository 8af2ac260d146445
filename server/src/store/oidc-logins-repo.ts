import type { Db } from './db.js';

/**
 * A sign-in through the OpenID Connect provider that has begun and not come back yet: what the callback must
 * check (the nonce, the PKCE verifier) and the browser it belongs to. Only hashes of the state and of the
 * browser's binding cookie are stored; a row is taken (read and deleted) at most once.
 */
export interface OidcLogin {
  stateHash: string;
  browserHash: string;
  nonce: string;
  codeVerifier: string;
  /** Where to go after signing in (a path under /manage). */
  next: string;
  createdAt: number;
  expiresAt: number;
}

interface Row {
  state_hash: string;
  browser_hash: string;
  nonce: string;
  code_verifier: string;
  next: string;
  created_at: number;
  expires_at: number;
}

export class OidcLoginsRepo {
  constructor(readonly db: Db) {}

  insert(login: OidcLogin): void {
    this.db
      .prepare(
        `INSERT INTO oidc_logins (state_hash, browser_hash, nonce, code_verifier, next, created_at, expires_at)
         VALUES (@stateHash, @browserHash, @nonce, @codeVerifier, @next, @createdAt, @expiresAt)`,
      )
      .run(login);
  }

  /** Reads and deletes the sign-in a state names, in one statement: of two callbacks with one state, one gets it. */
  take(stateHash: string): OidcLogin | null {
    const row = this.db.prepare('DELETE FROM oidc_logins WHERE state_hash = ? RETURNING *').get(stateHash) as Row | undefined;
    if (!row) return null;
    return {
      stateHash: row.state_hash,
      browserHash: row.browser_hash,
      nonce: row.nonce,
      codeVerifier: row.code_verifier,
      next: row.next,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  deleteExpired(now: number): number {
    return this.db.prepare('DELETE FROM oidc_logins WHERE expires_at <= ?').run(now).changes;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM oidc_logins').get() as { n: number }).n;
  }
}
