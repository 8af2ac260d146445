// The two databases a repository runs on, for suites that run the same cases on each: SQLite (a fresh file) and
// PostgreSQL (a fresh database on one real server per test file, opslab/test-postgres started with testcontainers).
// Each `open()` gives an empty, migrated database of its own.
import { openDatabase } from '../../server/src/store/db.js';
import { openPostgres } from '../../server/src/store/postgres-sql.js';
import type { Database } from '../../server/src/store/sql.js';
import { sqliteSql } from '../../server/src/store/sqlite-sql.js';
import { startPostgres, type TestPostgres } from './postgres.js';
import { tempDataDir } from './server.js';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  open(): Promise<Database>;
  /**
   * Another handle on the database `open` opened last, as a second server would hold (PostgreSQL: a pool of its own;
   * SQLite: the same handle, one process being the only way to share its file).
   */
  another(): Promise<Database>;
  /** Closes what `open` opened (and stops the server when there is one). */
  closeAll(): Promise<void>;
}

function sqlite(): TestDatabase {
  const opened: Database[] = [];
  return {
    name: 'sqlite',
    async open() {
      const db = sqliteSql(openDatabase(tempDataDir()));
      opened.push(db);
      return db;
    },
    async another() {
      const last = opened.at(-1);
      if (!last) throw new Error('open() first');
      return last;
    },
    async closeAll() {
      await Promise.all(opened.splice(0).map((db) => db.close()));
    },
  };
}

function postgres(): TestDatabase {
  let server: Promise<TestPostgres> | null = null;
  const opened: Database[] = [];
  let n = 0;
  let lastUrl: string | null = null;
  return {
    name: 'postgres',
    async open() {
      server ??= startPostgres();
      lastUrl = await (await server).database(`t${process.pid}_${++n}`);
      const db = await openPostgres(lastUrl, { max: 4 });
      opened.push(db);
      return db;
    },
    async another() {
      if (!lastUrl) throw new Error('open() first');
      const db = await openPostgres(lastUrl, { max: 4 });
      opened.push(db);
      return db;
    },
    async closeAll() {
      await Promise.all(opened.splice(0).map((db) => db.close()));
      if (server) await (await server).stop();
      server = null;
    },
  };
}

/** For `describe.each`: each database, named. */
export const testDatabases = (): TestDatabase[] => [sqlite(), postgres()];
