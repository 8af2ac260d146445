import type { Sql } from './sql.js';

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

const fromRow = (row: Row): OidcLogin => ({
  stateHash: row.state_hash,
  browserHash: row.browser_hash,
  nonce: row.nonce,
  codeVerifier: row.code_verifier,
  next: row.next,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

export class OidcLoginsRepo {
  constructor(readonly sql: Sql) {}

  async insert(login: OidcLogin): Promise<void> {
    await this.sql.run(
      `INSERT INTO oidc_logins (state_hash, browser_hash, nonce, code_verifier, next, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [login.stateHash, login.browserHash, login.nonce, login.codeVerifier, login.next, login.createdAt, login.expiresAt],
    );
  }

  /**
   * Drops the sign-ins expired at `now` and stores `login` unless `max` are under way: in one transaction, so that
   * sign-ins begun at the same time cannot all slip under the bound. False when refused.
   */
  async insertBounded(login: OidcLogin, now: number, max: number): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const logins = new OidcLoginsRepo(tx);
      await logins.deleteExpired(now);
      if ((await logins.count()) >= max) return false;
      await logins.insert(login);
      return true;
    });
  }

  /** Reads and deletes the sign-in a state names, in one statement: of two callbacks with one state, one gets it. */
  async take(stateHash: string): Promise<OidcLogin | null> {
    const row = await this.sql.one<Row>('DELETE FROM oidc_logins WHERE state_hash = ? RETURNING *', [stateHash]);
    return row ? fromRow(row) : null;
  }

  async deleteExpired(now: number): Promise<number> {
    return this.sql.run('DELETE FROM oidc_logins WHERE expires_at <= ?', [now]);
  }

  async count(): Promise<number> {
    return (await this.sql.one<{ n: number }>('SELECT COUNT(*) AS n FROM oidc_logins'))!.n;
  }
}
