// The one migration history on a real PostgreSQL server (Debian's postgresql-15 in a container started with
// testcontainers): every migration translates and applies; the schema it leaves equals SQLite's, table by table
// (columns, types, nullability, defaults, indexes, foreign keys); three servers migrating one database at the same
// time apply each migration once; a newer schema is refused; case-insensitive emails behave as in SQLite.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../server/src/store/db.js';
import { MIGRATIONS } from '../../server/src/store/migrations.js';
import { migratePostgres } from '../../server/src/store/postgres-schema.js';
import { tempDataDir } from '../helpers/server.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

interface Column { name: string; type: string; notNull: boolean; default: string | null }
interface TableShape { columns: Column[]; indexes: string[]; foreignKeys: string[] }
type Shape = Record<string, TableShape>;

/** `0`, `''`, `'practice'`: a default as written, without PostgreSQL's casts. */
const normDefault = (d: string | null): string | null => (d === null ? null : d.replace(/::[a-z ]+$/i, ''));
const ON_DELETE: Record<string, string> = { a: 'NO ACTION', c: 'CASCADE', n: 'SET NULL', r: 'RESTRICT', d: 'SET DEFAULT' };

function sqliteShape(db: Db): Shape {
  const shape: Shape = {};
  const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string; sql: string }[];
  for (const { name } of tables) {
    const cols = db.prepare(`PRAGMA table_info(${name})`).all() as { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }[];
    const rowidKey = cols.filter((c) => c.pk > 0).length === 1 ? cols.find((c) => c.pk > 0 && c.type === 'INTEGER') : undefined;
    const columns = cols.map((c) => ({
      name: c.name,
      type: c.type.toLowerCase(),
      notNull: c.notnull === 1 || c.pk > 0,
      // An INTEGER PRIMARY KEY numbers itself: its default is the next id.
      default: c === rowidKey ? '<next id>' : normDefault(c.dflt_value),
    }));
    const indexes = (db.prepare(`PRAGMA index_list(${name})`).all() as { name: string; unique: number; origin: string; partial: number }[])
      .filter((i) => i.origin !== 'pk')
      .map((i) => {
        const on = (db.prepare(`PRAGMA index_info(${i.name})`).all() as { name: string }[]).map((c) => c.name).join(',');
        return `${i.unique ? 'unique ' : ''}(${on})${i.partial ? ' partial' : ''}${i.origin === 'c' ? ` ${i.name}` : ''}`;
      })
      .sort();
    const foreignKeys = (db.prepare(`PRAGMA foreign_key_list(${name})`).all() as { table: string; from: string; to: string; on_delete: string }[])
      .map((f) => `${f.from} -> ${f.table}(${f.to}) on delete ${f.on_delete}`)
      .sort();
    shape[name] = { columns, indexes, foreignKeys };
  }
  return shape;
}

async function postgresShape(client: pg.Pool): Promise<Shape> {
  const shape: Shape = {};
  const { rows: tables } = await client.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'opslab_schema' ORDER BY table_name",
  );
  for (const { table_name: name } of tables) {
    const { rows: cols } = await client.query<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null; is_identity: string }>(
      `SELECT column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
      [name],
    );
    const columns = cols.map((c) => ({
      name: c.column_name,
      // SQLite's INTEGER holds 64 bits (epoch milliseconds need more than 32): only bigint is its equal.
      type: c.data_type === 'bigint' ? 'integer' : c.data_type === 'integer' ? 'int4 (32-bit)' : c.data_type,
      notNull: c.is_nullable === 'NO',
      default: c.is_identity === 'YES' ? '<next id>' : normDefault(c.column_default),
    }));
    const { rows: idx } = await client.query<{ name: string; unique: boolean; partial: boolean; on: string; constraint: boolean }>(
      `SELECT i.relname AS name, x.indisunique AS unique, x.indpred IS NOT NULL AS partial,
              (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum) AS on,
              EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) AS constraint
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = $1 AND NOT x.indisprimary`,
      [name],
    );
    const indexes = idx.map((i) => `${i.unique ? 'unique ' : ''}(${i.on})${i.partial ? ' partial' : ''}${i.constraint ? '' : ` ${i.name}`}`).sort();
    const { rows: fks } = await client.query<{ col: string; ref_table: string; ref_col: string; del: string }>(
      `SELECT a.attname AS col, r.relname AS ref_table, ra.attname AS ref_col, c.confdeltype AS del
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND t.relname = $1`,
      [name],
    );
    const foreignKeys = fks.map((f) => `${f.col} -> ${f.ref_table}(${f.ref_col}) on delete ${ON_DELETE[f.del]}`).sort();
    shape[name] = { columns, indexes, foreignKeys };
  }
  return shape;
}

describe('the migration history on PostgreSQL (real server)', () => {
  let server: TestPostgres;
  let pool: pg.Pool;
  const pools: pg.Pool[] = [];
  let dataDir: string;

  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 4 });
    pools.push(pool);
    dataDir = tempDataDir();
  }, 180_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await server?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('applies every migration, and a second run applies none', async () => {
    expect(await migratePostgres(pool)).toBe(MIGRATIONS.length);
    const before = (await pool.query('SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = $1', ['public'])).rows[0].n;
    expect(await migratePostgres(pool)).toBe(MIGRATIONS.length);
    const after = (await pool.query('SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = $1', ['public'])).rows[0].n;
    expect(after).toBe(before);
    expect((await pool.query('SELECT version FROM opslab_schema')).rows).toEqual([{ version: MIGRATIONS.length }]);
  });

  it('leaves the same schema as SQLite: tables, columns, types, nullability, defaults, indexes, foreign keys', async () => {
    const db = openDatabase(path.join(dataDir, 'sqlite'));
    const sqlite = sqliteShape(db);
    db.close();
    const postgres = await postgresShape(pool);
    expect(Object.keys(postgres).sort()).toEqual(Object.keys(sqlite).sort());
    expect(Object.keys(sqlite).length).toBeGreaterThan(15);
    for (const table of Object.keys(sqlite)) expect(postgres[table], table).toEqual(sqlite[table]);
  });

  it('applies each migration once when three servers migrate one database at the same time', async () => {
    const url = await server.database('race');
    const three = [0, 1, 2].map(() => new pg.Pool({ connectionString: url, max: 2 }));
    pools.push(...three);
    // A second application of any migration would fail (CREATE TABLE and ADD COLUMN are not idempotent).
    const results = await Promise.all(three.map((p) => migratePostgres(p)));
    expect(results).toEqual([MIGRATIONS.length, MIGRATIONS.length, MIGRATIONS.length]);
    expect((await three[0]!.query('SELECT version FROM opslab_schema')).rows).toEqual([{ version: MIGRATIONS.length }]);
  });

  it('refuses a database whose schema is newer than this opslab, changing nothing', async () => {
    const url = await server.database('newer');
    const newer = new pg.Pool({ connectionString: url, max: 1 });
    pools.push(newer);
    await migratePostgres(newer);
    await newer.query('UPDATE opslab_schema SET version = $1', [MIGRATIONS.length + 1]);
    await expect(migratePostgres(newer)).rejects.toThrow(`The database schema (version ${MIGRATIONS.length + 1}) is newer than this opslab (version ${MIGRATIONS.length}); upgrade opslab.`);
    expect((await newer.query('SELECT version FROM opslab_schema')).rows).toEqual([{ version: MIGRATIONS.length + 1 }]);
  });

  it('compares emails without case, as SQLite’s COLLATE NOCASE does: equal to look up, one per address', async () => {
    await pool.query(`INSERT INTO users (id, email, name, role, created_at) VALUES ('u_1', 'Ada@Example.test', 'Ada', 'admin', 1)`);
    const found = await pool.query('SELECT id FROM users WHERE email = $1', ['ada@example.TEST']);
    expect(found.rows).toEqual([{ id: 'u_1' }]);
    await expect(
      pool.query(`INSERT INTO users (id, email, name, role, created_at) VALUES ('u_2', 'ADA@example.test', 'Ada 2', 'admin', 1)`),
    ).rejects.toMatchObject({ code: '23505' });
    // The same in SQLite, so the two agree.
    const db = openDatabase(path.join(dataDir, 'sqlite-nocase'));
    db.prepare(`INSERT INTO users (id, email, name, role, created_at) VALUES ('u_1', 'Ada@Example.test', 'Ada', 'admin', 1)`).run();
    expect(db.prepare('SELECT id FROM users WHERE email = ?').all('ada@example.TEST')).toEqual([{ id: 'u_1' }]);
    expect(() => db.prepare(`INSERT INTO users (id, email, name, role, created_at) VALUES ('u_2', 'ADA@example.test', 'Ada 2', 'admin', 1)`).run()).toThrow(/UNIQUE/);
    db.close();
  });
});
