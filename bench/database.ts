// The price of PostgreSQL: cold start to first prompt, keystroke echo and a full grading as the candidate sees it
// (submit → the grading read back), on a server whose database is a PostgreSQL server (OPSLAB_DATABASE_URL),
// against the same on its SQLite file: two servers side by side, measured in turns (SQLite, PostgreSQL, SQLite, ...)
// so that drift on the machine affects both alike. The PostgreSQL server is opslab/test-postgres (test/images/postgres,
// Debian's postgresql-15) in a container on the same engine, started as the tests start it.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startPostgres } from '../test/helpers/postgres.js';
import { echo, finalGrading, openAttempt, submit } from './client.js';
import type { ServerProcess } from './machine.js';
import { BENCH_LABEL } from './protocol.js';
import { summarize, type Summary } from './stats.js';
import { echoTurns, inTurns, pairTable, sideBySide, startTurns } from './turns.js';

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
async function grading(url: string, exerciseId: string): Promise<number> {
  const a = await openAttempt(url, exerciseId);
  try {
    await echo(a.shell, 'x');
    const t0 = performance.now();
    await submit(url, a.id, a.token);
    const run = await finalGrading(url, a.id, a.token);
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
    const postgresVersion = await serverVersion(url);
    const envs = { sqlite: {}, postgres: { OPSLAB_DATABASE_URL: url } };
    const names = ['sqlite', 'postgres'] as const;
    const last = (s: Record<(typeof names)[number], number[]>) =>
      `SQLite ${s.sqlite.at(-1)!.toFixed(0)} ms, PostgreSQL ${s.postgres.at(-1)!.toFixed(0)} ms`;
    return await sideBySide(envs, opts.server, async (servers) => {
      const starts = await startTurns(servers, names, opts.exerciseId, opts.startRounds, (i, s) =>
        opts.log(`database start ${i + 1}/${opts.startRounds}: ${last(s)}`),
      );
      const echoes = await echoTurns(servers, names, opts.exerciseId, opts.echoWarmup, opts.echoRounds);
      opts.log(`database echo: ${opts.echoRounds} rounds done`);
      const gradings = await inTurns(
        names,
        1,
        opts.gradingRuns,
        (name) => grading(servers[name].url, opts.gradingExercise),
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
      };
    });
  } finally {
    await postgres.stop();
  }
}

/** The PostgreSQL subsection of bench/RESULTS.md. */
export function databaseText(d: DatabaseResult): string {
  return pairTable('SQLite', 'PostgreSQL', [
    { what: `cold start → first prompt (ms), N=${d.startRounds}`, a: d.sqlite.start, b: d.postgres.start },
    { what: `keystroke echo (ms), N=${d.echoRounds}`, a: d.sqlite.echo, b: d.postgres.echo },
    { what: `submit → grading read, ${d.gradingExercise} (ms), N=${d.gradingRuns}`, a: d.sqlite.grading, b: d.postgres.grading },
  ]);
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
    'candidates notice it; with PostgreSQL on another machine the network adds its round trips.'
  );
}
