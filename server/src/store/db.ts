import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export function openDatabase(dataDir: string): Db {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, 'opslab.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // LOWER() as PostgreSQL has it: every letter, not only A to Z (a sort by name is the same on both databases).
  db.function('lower', { deterministic: true }, (s: unknown) => (s === null ? null : String(s).toLowerCase()));
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `The database schema (version ${current}) is newer than this opslab (version ${MIGRATIONS.length}); upgrade opslab.`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

/**
 * A random id for this installation, stored in the database. Sandboxes carry it as a label, so that two
 * opslab installations (or test runs) on one Docker engine never adopt or reap each other's containers.
 */
export function instanceId(db: Db): string {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('instance_id') as { value: string } | undefined;
  if (row) return row.value;
  const id = randomBytes(6).toString('hex');
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('instance_id', id);
  return id;
}
