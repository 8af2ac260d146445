// The database the server runs on: a SQLite file in the data directory (one process, the default of `npm start`),
// or a PostgreSQL server when OPSLAB_DATABASE_URL names one (several replicas share it). Either way the rest of the
// server sees the same Sql calls; only the store layer knows which it is.
import { randomBytes } from 'node:crypto';
import { openDatabase, type Db } from './db.js';
import { openPostgres } from './postgres-sql.js';
import type { Database, Sql } from './sql.js';
import { sqliteSql } from './sqlite-sql.js';

export interface Store {
  sql: Database;
  /** The SQLite connection itself (maintenance and tests read the file); null on PostgreSQL. */
  sqlite: Db | null;
}

export interface StoreOptions {
  dataDir: string;
  /** postgres://… or null for the SQLite file in dataDir. */
  databaseUrl: string | null;
  /** A pooled PostgreSQL connection failed while idle (the pool replaces it). */
  onIdleError?: (err: Error) => void;
}

/** Opens (and migrates) the database; rejects when PostgreSQL cannot be reached or its schema is newer. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  if (opts.databaseUrl) {
    return { sql: await openPostgres(opts.databaseUrl, { ...(opts.onIdleError ? { onIdleError: opts.onIdleError } : {}) }), sqlite: null };
  }
  const sqlite = openDatabase(opts.dataDir);
  return { sql: sqliteSql(sqlite), sqlite };
}

/**
 * A random id for this installation, stored in the database. Sandboxes carry it as a label, so that two
 * opslab installations (or test runs) on one Docker engine never adopt or reap each other's containers. Servers
 * that share a database share it (the first to start makes it; the others read the same one).
 */
export async function instanceId(sql: Sql): Promise<string> {
  await sql.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', ['instance_id', randomBytes(6).toString('hex')]);
  const row = await sql.one<{ value: string }>('SELECT value FROM meta WHERE key = ?', ['instance_id']);
  return row!.value;
}
