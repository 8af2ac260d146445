// The one way repositories talk to a database: a few asynchronous calls with `?` placeholders, the same for SQLite
// (sqlite-sql.ts, the single-process default) and PostgreSQL (postgres-sql.ts, OPSLAB_DATABASE_URL). Repositories
// write the SQL both databases share (the rules are in postgres-schema.ts) and branch on `dialect` only where the
// two cannot say the same thing.

import type { PushBus } from './push-bus.js';

/** A value bound to a placeholder: times are epoch milliseconds, flags 0/1, documents JSON text. */
export type SqlValue = string | number | null;

export type SqlDialect = 'sqlite' | 'postgres';

export interface Sql {
  readonly dialect: SqlDialect;
  /** The first row, or undefined; with RETURNING, the row written. */
  one<T>(text: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  all<T>(text: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(text: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs `fn` in one transaction that sees and writes as if it were alone (SQLite: BEGIN IMMEDIATE, other calls wait
   * for it; PostgreSQL: SERIALIZABLE, retried when the server aborts it for a conflict, so `fn` may run more than
   * once and must do nothing but SQL through `tx`; a call on the outer handle from inside `fn` would wait for `fn`
   * to end, for ever on SQLite). Commits when `fn` resolves, rolls back when it throws.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>, opts?: TransactionOptions): Promise<T>;
}

export interface TransactionOptions {
  /**
   * Transactions of the same name run one at a time, each seeing what the one before it committed (PostgreSQL: READ
   * COMMITTED under a transaction-scoped advisory lock on the name, never retried; SQLite: every transaction already
   * runs alone). For a check-then-insert that many servers race, such as admitting a start against the capacity.
   */
  exclusive?: string;
}

/** A database opened by the server: the Sql calls, messages to the other servers on it, and closing it. */
export interface Database extends Sql {
  readonly push: PushBus;
  close(): Promise<void>;
}

/**
 * `text` with each `?` placeholder numbered for PostgreSQL ($1, $2, …). A `?` inside a string literal, a quoted name
 * or a comment is left as it is.
 */
export function numberPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\?/g, (m) => (m === '?' ? `$${++n}` : m));
}

/** `?, ?, ?`: the placeholders of an `IN (…)` list of `n` values. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
