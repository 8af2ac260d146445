// The Sql calls on PostgreSQL (node-postgres, a pool of connections). Opening migrates the database to the latest
// schema (postgres-schema.ts: the one migration history, applied once whatever the number of servers). Numbers come
// back as numbers, as from SQLite: BIGINT and NUMERIC (COUNT and SUM) are parsed, and refused past 2^53.
import pg from 'pg';
import { postgresPushBus } from './postgres-push.js';
import { migratePostgres } from './postgres-schema.js';
import { numberPlaceholders, type Database, type Sql, type SqlValue, type TransactionOptions } from './sql.js';

const INT8 = 20;
const NUMERIC = 1700;

function toNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n))) {
    throw new Error(`PostgreSQL returned ${text}, which a JavaScript number cannot hold exactly`);
  }
  return n;
}

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 || oid === NUMERIC ? toNumber : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** SQLSTATEs for which a serializable transaction is run again: a serialization failure and a deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const TRANSACTION_TRIES = 8;

export interface PostgresOptions {
  /** Connections in the pool; default 10. */
  max?: number;
  /**
   * Called when an idle connection fails (the server restarted, the network dropped): the pool replaces it; and when
   * the push bus's listening connection breaks (it is opened again).
   */
  onIdleError?: (err: Error) => void;
}

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

function calls(q: Queryable, transaction: Sql['transaction']): Sql {
  const query = (text: string, params: readonly SqlValue[] = []) => q.query(numberPlaceholders(text), params as SqlValue[]);
  return {
    dialect: 'postgres',
    one: async <T>(text: string, params?: readonly SqlValue[]) => (await query(text, params)).rows[0] as T | undefined,
    all: async <T>(text: string, params?: readonly SqlValue[]) => (await query(text, params)).rows as T[],
    run: async (text, params) => (await query(text, params)).rowCount ?? 0,
    transaction,
  };
}

/** Opens a pool on `url` (postgres://…) and migrates the database; rejects when the server cannot be reached. */
export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, types, connectionTimeoutMillis: 10_000 });
  pool.on('error', (err) => opts.onIdleError?.(err));
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  const transaction = async <T>(fn: (tx: Sql) => Promise<T>, opts: TransactionOptions = {}): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      let inside: Sql;
      const joined: Sql['transaction'] = (inner) => inner(inside);
      inside = calls(client, joined);
      try {
        if (opts.exclusive !== undefined) {
          // The lock is taken before anything is read, and each later statement sees what the previous holder
          // committed (a serializable snapshot would be older than the lock).
          await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [opts.exclusive]);
        } else {
          await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        }
        const result = await fn(inside);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (err as { code?: string }).code;
        if (!(code && RETRYABLE.has(code)) || attempt >= TRANSACTION_TRIES) throw err;
      } finally {
        client.release();
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  };

  const push = postgresPushBus(url, pool, (err) => opts.onIdleError?.(err));
  return {
    ...calls(pool, transaction),
    push,
    close: async () => {
      await push.close();
      await pool.end();
    },
  };
}
