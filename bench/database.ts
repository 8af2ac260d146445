// The price of PostgreSQL and of replicas: cold start to first prompt, keystroke echo and a full grading as the
// candidate sees it (submit → the grading read back), on a server whose database is a PostgreSQL server
// (OPSLAB_DATABASE_URL), and on two replicas sharing a second database and a data directory (the attempt started
// through one, its terminal and its submit through the other, as a load balancer without sticky sessions would
// spread them), against the same on one server's SQLite file. Measured in turns (SQLite, PostgreSQL, replicas,
// SQLite, ...) so that drift on the machine affects each alike. The PostgreSQL server is opslab/test-postgres
// (test/images/postgres, Debian's postgresql-15) in a container on the same engine, started as the tests start it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startPostgres } from '../test/helpers/postgres.js';
import { freePort } from '../test/helpers/server-process.js';
import { echo, finalGrading, openAttempt, submit } from './client.js';
import type { ServerProcess } from './machine.js';
import { BENCH_LABEL } from './protocol.js';
import { summarize, type Summary } from './stats.js';
import { echoTurns, inTurns, pairTable, sideBySide, startTurns, type Target } from './turns.js';

type Figures = { start: Summary; echo: Summary; grading: Summary };

export interface DatabaseResult {
  startRounds: number;
  echoRounds: number;
  gradingRuns: number;
  /** The exercise whose final grading is timed. */
  gradingExercise: string;
  /** The PostgreSQL server's version (`SHOW server_version`). */
  postgresVersion: string;
  sqlite: Figures;
  postgres: Figures;
  /** Two replicas on PostgreSQL: started through one, typed into and submitted through the other (absent from results measured before). */
  replicas?: Figures;
}

export interface DatabaseOptions {
  /** Started for the start and echo figures. */
  exerciseId: string;
  gradingExercise: string;
  startRounds: number;
  echoRounds: number;
  echoWarmup: number;
  gradingRuns: number;
  /** Starts a server under test with these extra settings. */
  server: (env: Record<string, string>) => Promise<ServerProcess>;
  log: (line: string) => void;
}

/**
 * Submit → the final grading read back, as a practice candidate's page reads it after the submit's answer (which
 * comes once the grading is stored and the sandbox removed). A keystroke's echo first: typed input is held until the
 * start's provisioning (the initial snapshot) is done, so the submit finds the attempt settled, as a candidate's does.
 */
async function grading(target: Target, exerciseId: string): Promise<number> {
  const other = target.terminalUrl ?? target.url;
  const a = await openAttempt(target.url, exerciseId, other);
  try {
    await echo(a.shell, 'x');
    const t0 = performance.now();
    await submit(other, a.id, a.token);
    const run = await finalGrading(other, a.id, a.token);
    const ms = performance.now() - t0;
    if (!run || run.error) {
      throw new Error(`${exerciseId}: no final grading after the submit${run?.error ? ` (${run.error})` : ''}`);
    }
    return ms;
  } finally {
    a.shell.close();
  }
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

export async function databaseSection(opts: DatabaseOptions): Promise<DatabaseResult> {
  opts.log('database: starting PostgreSQL (opslab/test-postgres)');
  const postgres = await startPostgres({ [BENCH_LABEL]: 'true' });
  try {
    const url = await postgres.database('bench_opslab');
    const replicasUrl = await postgres.database('bench_replicas');
    const postgresVersion = await serverVersion(url);
    const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-bench-replicas-'));
    const replica = (id: string, port: number) => ({
      OPSLAB_DATABASE_URL: replicasUrl,
      OPSLAB_DATA_DIR: shared,
      OPSLAB_REPLICA_ID: id,
      OPSLAB_PORT: String(port),
      OPSLAB_INTERNAL_URL: `http://127.0.0.1:${port}`,
    });
    const envs = {
      sqlite: {},
      postgres: { OPSLAB_DATABASE_URL: url },
      r1: replica('bench-r1', await freePort()),
      r2: replica('bench-r2', await freePort()),
    };
    const names = ['sqlite', 'postgres', 'replicas'] as const;
    const last = (s: Record<(typeof names)[number], number[]>) =>
      `SQLite ${s.sqlite.at(-1)!.toFixed(0)} ms, PostgreSQL ${s.postgres.at(-1)!.toFixed(0)} ms, replicas ${s.replicas.at(-1)!.toFixed(0)} ms`;
    return await sideBySide(envs, opts.server, async (started) => {
      const servers: Record<(typeof names)[number], Target> = {
        sqlite: started.sqlite,
        postgres: started.postgres,
        replicas: { url: started.r1.url, terminalUrl: started.r2.url },
      };
      const starts = await startTurns(servers, names, opts.exerciseId, opts.startRounds, (i, s) =>
        opts.log(`database start ${i + 1}/${opts.startRounds}: ${last(s)}`),
      );
      const echoes = await echoTurns(servers, names, opts.exerciseId, opts.echoWarmup, opts.echoRounds);
      opts.log(`database echo: ${opts.echoRounds} rounds done`);
      const gradings = await inTurns(
        names,
        1,
        opts.gradingRuns,
        (name) => grading(servers[name], opts.gradingExercise),
        (i, s) => opts.log(`database grading ${i + 1}/${opts.gradingRuns}: ${last(s)}`),
      );
      const figures = (name: (typeof names)[number]) => ({
        start: summarize(starts[name]),
        echo: summarize(echoes[name]),
        grading: summarize(gradings[name]),
      });
      return {
        startRounds: opts.startRounds,
        echoRounds: opts.echoRounds,
        gradingRuns: opts.gradingRuns,
        gradingExercise: opts.gradingExercise,
        postgresVersion,
        sqlite: figures('sqlite'),
        postgres: figures('postgres'),
        replicas: figures('replicas'),
      };
    }).finally(() => fs.rmSync(shared, { recursive: true, force: true }));
  } finally {
    await postgres.stop();
  }
}

/** The PostgreSQL subsection of bench/RESULTS.md. */
export function databaseText(d: DatabaseResult): string {
  const rows = (b: Figures) => [
    { what: `cold start → first prompt (ms), N=${d.startRounds}`, a: d.sqlite.start, b: b.start },
    { what: `keystroke echo (ms), N=${d.echoRounds}`, a: d.sqlite.echo, b: b.echo },
    { what: `submit → grading read, ${d.gradingExercise} (ms), N=${d.gradingRuns}`, a: d.sqlite.grading, b: b.grading },
  ];
  // (Results written before the replicas were measured have no such figures.)
  const replicas = d.replicas
    ? ['', 'Two replicas on PostgreSQL (started through one, terminal and submit through the other):', '', pairTable('SQLite', 'replicas', rows(d.replicas))]
    : [];
  return [pairTable('SQLite', 'PostgreSQL', rows(d.postgres)), ...replicas].join('\n');
}

/** How the database figures are measured (a bullet of the method section). */
export function databaseMethod(d: DatabaseResult): string {
  return (
    '- **PostgreSQL**: two servers, one on its SQLite file (the default) and one with `OPSLAB_DATABASE_URL` on a ' +
    `fresh database of a PostgreSQL ${d.postgresVersion} server (opslab/test-postgres, Debian's postgresql-15), ` +
    'everything else equal. That server runs in a container on the same engine and machine, so it shares the ' +
    "machine's cores with the opslab servers, the sandboxes and the benchmark's clients (as a PostgreSQL on the " +
    'same host would), and is reached over a published port. Cold starts (no warm pool) to first prompt, ' +
    `one on each server in turn after an unmeasured pair, N=${d.startRounds} each; keystroke echoes on one attempt ` +
    `each, in turn (N=${d.echoRounds} each after a warm-up); then full gradings as the candidate sees them: an ` +
    `attempt of \`${d.gradingExercise}\` started (its terminal open and one keystroke echoed, so the start's ` +
    'provisioning is done), left untouched, and submitted; timed from the submit until the final grading has been ' +
    'read back (`GET /api/attempts/:id/grading`, as the practice result page reads it once the submit answers, which it does ' +
    'when the final snapshot is taken, the grading run and stored and the sandbox removed). One on each server in ' +
    `turn after an unmeasured pair, N=${d.gradingRuns} each. The ratios are what PostgreSQL costs (or saves) where ` +
    'candidates notice it; with PostgreSQL on another machine the network adds its round trips. **Replicas**: two ' +
    'servers on another database of the same PostgreSQL, sharing one data directory, each with its own ' +
    '`OPSLAB_REPLICA_ID` and `OPSLAB_INTERNAL_URL`; every attempt is started through the first and its terminal opened ' +
    'and its submit sent through the second, so each keystroke crosses the second replica on its way to the owner ' +
    '(the worst case of a load balancer without sticky sessions) and the submit makes the second replica take the ' +
    'attempt over and grade it. Measured in the same turns as the other two.'
  );
}
