// The Sql calls on SQLite (better-sqlite3, one connection). Statements run synchronously; the calls return promises
// only so that repositories are the same on both databases. A transaction spans awaits, so while one is open every
// call from outside it waits for it to end: nothing else can land inside it or read its uncommitted rows.
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { localPushBus } from './push-bus.js';
import type { Database, Sql, SqlValue } from './sql.js';

/** Prepared statements kept per connection (repositories' SQL is fixed text, so this stays small). */
const STATEMENT_CACHE = 500;

export function sqliteSql(db: Db): Database {
  const statements = new Map<string, Statement>();
  const prepare = (text: string): Statement => {
    let stmt = statements.get(text);
    if (!stmt) {
      if (statements.size >= STATEMENT_CACHE) statements.clear();
      stmt = db.prepare(text);
      statements.set(text, stmt);
    }
    return stmt;
  };
  const one = <T>(text: string, params: readonly SqlValue[] = []): T | undefined => {
    const stmt = prepare(text);
    if (stmt.reader) return stmt.get(...params) as T | undefined;
    stmt.run(...params);
    return undefined;
  };
  const all = <T>(text: string, params: readonly SqlValue[] = []): T[] => {
    const stmt = prepare(text);
    if (stmt.reader) return stmt.all(...params) as T[];
    stmt.run(...params);
    return [];
  };
  const run = (text: string, params: readonly SqlValue[] = []): number => {
    const stmt = prepare(text);
    return stmt.reader ? stmt.all(...params).length : stmt.run(...params).changes;
  };

  // Set while a transaction is open; resolves when it ends. Each call checks it in the same turn as it goes on (not
  // through a helper: the turns an awaited helper takes to return would let two transactions both find it unset).
  let open: Promise<void> | null = null;

  /** The calls inside a transaction: straight through (a nested transaction joins the open one). */
  const inside: Sql = {
    dialect: 'sqlite',
    one: async (text, params) => one(text, params),
    all: async (text, params) => all(text, params),
    run: async (text, params) => run(text, params),
    transaction: (fn) => fn(inside),
  };

  return {
    dialect: 'sqlite',
    async one(text, params) {
      while (open) await open;
      return one(text, params);
    },
    async all(text, params) {
      while (open) await open;
      return all(text, params);
    },
    async run(text, params) {
      while (open) await open;
      return run(text, params);
    },
    async transaction(fn) {
      while (open) await open;
      let end!: () => void;
      open = new Promise((resolve) => (end = resolve));
      try {
        db.exec('BEGIN IMMEDIATE');
        const result = await fn(inside);
        db.exec('COMMIT');
        return result;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      } finally {
        open = null;
        end();
      }
    },
    push: localPushBus(),
    async close() {
      while (open) await open;
      db.close();
    },
  };
}
