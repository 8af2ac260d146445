// `npm run bench`: opslab against raw Docker on the same engine, each figure measured together with its baseline in
// the same run (interleaved A B A B … so that drift on the machine affects both alike). Writes
// bench/results/<timestamp>.json and the table in bench/RESULTS.md. Nothing here passes or fails: the figures are for
// reading, next to the targets.
//
//   npm run bench                          every section
//   npm run bench -- --only start,echo     some sections (start, echo, density, grading, flood, gvisor, database, burst, slo);
//                                          RESULTS.md is only rewritten by a full run
//   npm run bench -- --report <json>       rewrite RESULTS.md from a results file, measuring nothing
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { sandboxImageRef } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';
import { ExerciseCatalog } from '../server/src/exercises/catalog.js';
import { ensureImages } from '../server/src/images/index.js';
import { repoRoot } from '../server/src/paths.js';
import { DockerDriver } from '../server/src/sandbox/drivers/docker/docker-driver.js';
import { DockerImageEngine } from '../server/src/sandbox/drivers/docker/image-engine.js';
import { effectiveLimits } from '../server/src/sandbox/policy.js';
import { Baseline } from './baseline.js';
import { atPrompt, echo, openAttempt, type Shell } from './client.js';
import { density } from './density.js';
import { gradingBench } from './grading.js';
import { burstSection } from './burst.js';
import { gvisorSection } from './gvisor.js';
import { databaseSection } from './database.js';
import { POSTGRES_IMAGE_TARGET } from '../test/helpers/postgres.js';
import { sloSection } from './slo-probe.js';
import { busyPercent, describeMachine, loadAverage, machineCpu, ServerProcess } from './machine.js';
import { renderMarkdown, type Results } from './report.js';
import { BENCH_LABEL } from './protocol.js';
import { median, summarize, type Summary } from './stats.js';

const SECTIONS = ['start', 'echo', 'density', 'grading', 'flood', 'gvisor', 'database', 'burst', 'slo'] as const;
type Section = (typeof SECTIONS)[number];

const count = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number`);
  return v;
};
const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback).split(',').map((s) => {
    const v = Number(s.trim());
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a comma-separated list of counts`);
    return v;
  });

export const SETTINGS = {
  exercise: 'shell-warmup',
  startRounds: count('BENCH_N_START', 40),
  echoRounds: count('BENCH_N_ECHO', 300),
  echoWarmup: 30,
  floodRounds: count('BENCH_N_FLOOD', 5),
  floodSeconds: count('BENCH_FLOOD_SECONDS', 10),
  floodMiB: count('BENCH_FLOOD_MB', 64),
  densityLevels: list('BENCH_DENSITY_LEVELS', '10,25,50,100,150,250,350,500'),
  densitySeconds: count('BENCH_DENSITY_SECONDS', 20),
  keysPerSecond: count('BENCH_KEYS_PER_SECOND', 5),
  densityLimitMs: 50,
  gradingRuns: count('BENCH_N_GRADE', 5),
  /** Exercises whose full grading is timed: BENCH_GRADING_EXERCISES, or every exercise with checks. */
  gradingExercises: (process.env.BENCH_GRADING_EXERCISES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  gvisorStartRounds: count('BENCH_N_GVISOR_START', 20),
  gvisorEchoRounds: count('BENCH_N_GVISOR_ECHO', 200),
  dbStartRounds: count('BENCH_N_DB_START', 20),
  dbEchoRounds: count('BENCH_N_DB_ECHO', 200),
  dbGradingRuns: count('BENCH_N_DB_GRADING', 10),
  /** The exercise whose grading is timed on SQLite and PostgreSQL: a practice one on the base image, with checks. */
  dbGradingExercise: 'artifact-retention',
  burstAttempts: count('BENCH_BURST_ATTEMPTS', 30),
  burstTypists: count('BENCH_BURST_TYPISTS', 20),
  burstConcurrency: list('BENCH_BURST_CONCURRENCY', '1,2,4'),
  burstExercises: (process.env.BENCH_BURST_EXERCISES ?? 'ci-triage,terraform-review,latency-slo,artifact-retention').split(',').map((s) => s.trim()).filter(Boolean),
  sloRuns: count('BENCH_N_SLO', 20),
  /** A commit whose latency-slo measurement is studied beside the current one. */
  sloBaselineRef: process.env.BENCH_SLO_BASELINE_REF?.trim() || null,
};

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** Settings of the server under test: room for the density run, practice may use all of it (starts are practice). */
const SERVER_ENV = {
  OPSLAB_MAX_SANDBOXES: '520',
  OPSLAB_PRACTICE_MAX_SANDBOXES: '520',
  // Every bench attempt starts from one client.
  OPSLAB_PRACTICE_STARTS_PER_MINUTE: '0',
  OPSLAB_PRACTICE_STARTS_PER_HOUR: '0',
  OPSLAB_PRACTICE_NEW_TRAINEES_PER_HOUR: '0',
};

function parseArgs(argv: string[]): { only: Section[]; report: string | null } {
  let only: Section[] = [...SECTIONS];
  let report: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') {
      const names = (argv[++i] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      for (const n of names) if (!(SECTIONS as readonly string[]).includes(n)) throw new Error(`unknown section ${n}; sections: ${SECTIONS.join(', ')}`);
      only = names as Section[];
    } else if (a === '--report') {
      report = argv[++i] ?? null;
      if (!report) throw new Error('--report needs a results file');
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: npm run bench [-- --only ${SECTIONS.join(',')} | --report <results.json>]\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return { only, report };
}

// ---------------------------------------------------------------------------------------------------------------
// Sections.

/** 1. Start → first prompt: warm (from the pool), cold, and raw Docker, interleaved. */
async function startSection(baseline: Baseline): Promise<NonNullable<Results['start']>> {
  const cold = await ServerProcess.start(SERVER_ENV);
  const warm = await ServerProcess.start({ ...SERVER_ENV, OPSLAB_WARM_POOL: `${SETTINGS.exercise}=1` });
  try {
    await warm.poolReady();
    const keys = ['post', 'open', 'first', 'prompt'] as const;
    const w = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<(typeof keys)[number], number[]>;
    const c = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<(typeof keys)[number], number[]>;
    const raw = { first: [] as number[], prompt: [] as number[] };
    // One unmeasured round first (the engine and the servers warm up).
    for (let i = -1; i < SETTINGS.startRounds; i++) {
      // The pool is full and quiet before each warm sample, and its refill done before the cold one.
      await warm.poolReady();
      const a = await openAttempt(warm.url, SETTINGS.exercise);
      await a.end();
      await warm.poolReady();
      const b = await openAttempt(cold.url, SETTINGS.exercise);
      await b.end();
      const r = await baseline.attached();
      r.shell.close();
      await baseline.remove(r.container);
      if (i < 0) continue;
      for (const k of keys) {
        w[k].push(a.ms[k]);
        c[k].push(b.ms[k]);
      }
      raw.first.push(r.ms.first);
      raw.prompt.push(r.ms.prompt);
      log(
        `start ${i + 1}/${SETTINGS.startRounds}: warm ${a.ms.prompt.toFixed(0)} ms, cold ${b.ms.prompt.toFixed(0)} ms, ` +
          `raw docker ${r.ms.prompt.toFixed(0)} ms`,
      );
    }
    const sum = (x: Record<string, number[]>) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, summarize(v)]));
    return {
      warm: sum(w) as NonNullable<Results['start']>['warm'],
      cold: sum(c) as NonNullable<Results['start']>['cold'],
      baseline: { first: summarize(raw.first), prompt: summarize(raw.prompt) },
    };
  } finally {
    await warm.stop();
    await cold.stop();
  }
}

/** 2. Keystroke echo: opslab's WebSocket against a raw attach to the container's TTY, and `docker exec`. */
async function echoSection(baseline: Baseline): Promise<NonNullable<Results['echo']>> {
  const server = await ServerProcess.start(SERVER_ENV);
  const attempt = await openAttempt(server.url, SETTINGS.exercise);
  const box = await baseline.attached();
  const exec = await baseline.exec(box.container);
  try {
    const keys = 'abcdefghijklmnopqrstuvwxyz';
    const rounds = { opslab: [] as number[], attach: [] as number[], exec: [] as number[] };
    for (let i = -SETTINGS.echoWarmup; i < SETTINGS.echoRounds; i++) {
      const key = keys[(i + SETTINGS.echoWarmup) % keys.length]!;
      const a = await echo(attempt.shell, key);
      const b = await echo(box.shell, key);
      const c = await echo(exec, key);
      if (i < 0) continue;
      rounds.opslab.push(a);
      rounds.attach.push(b);
      rounds.exec.push(c);
    }
    log(`echo: ${SETTINGS.echoRounds} rounds done`);
    return { opslab: summarize(rounds.opslab), attach: summarize(rounds.attach), exec: summarize(rounds.exec) };
  } finally {
    exec.close();
    box.shell.close();
    await baseline.remove(box.container);
    await attempt.end().catch(() => undefined);
    await server.stop();
  }
}

/** 3. Density. */
async function densitySection(): Promise<NonNullable<Results['density']>> {
  const server = await ServerProcess.start(SERVER_ENV);
  try {
    return await density(server, {
      exerciseId: SETTINGS.exercise,
      levels: SETTINGS.densityLevels,
      seconds: SETTINGS.densitySeconds,
      keysPerSecond: SETTINGS.keysPerSecond,
      limitMs: SETTINGS.densityLimitMs,
      stopAfter: 2,
      startConcurrency: 4,
      memoryAttempts: 100,
      log,
    });
  } finally {
    log('density: removing the sandboxes');
    await server.stop();
  }
}

/** 4. Grading. */
async function gradingSection(docker: Docker): Promise<NonNullable<Results['grading']>> {
  const config = loadConfig({ OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'exercises') }, repoRoot());
  const catalog = ExerciseCatalog.load(config.exercisesDir);
  const driver = new DockerDriver({ docker, instance: 'bench', policy: config.sandbox, extraLabels: { [BENCH_LABEL]: 'true' } });
  const exercises = SETTINGS.gradingExercises.length > 0
    ? SETTINGS.gradingExercises
    : catalog.list().filter((e) => e.checks.length > 0).map((e) => e.id).sort();
  return gradingBench({ docker, driver, catalog, config, exercises, runs: SETTINGS.gradingRuns, log });
}

/** 8. latency-slo's SLO measurement: false fails and false passes, quiet and busy. */
async function sloSectionRun(docker: Docker): Promise<NonNullable<Results['slo']>> {
  const config = loadConfig({ OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'exercises') }, repoRoot());
  const exercise = ExerciseCatalog.load(config.exercisesDir).get('latency-slo');
  if (!exercise) throw new Error('latency-slo is not in the catalog');
  const driver = new DockerDriver({ docker, instance: 'bench', policy: config.sandbox, extraLabels: { [BENCH_LABEL]: 'true' } });
  return sloSection({ driver, exercise, runs: SETTINGS.sloRuns, baselineRef: SETTINGS.sloBaselineRef, log });
}

/** The two floods: `yes` for a while (a line per two bytes: the TTY's line handling sets the pace), and base64. */
const FLOODS = {
  yes: (seconds: number) => `timeout ${seconds} yes; echo END-$((6*7))\r`,
  base64: (mib: number) => `head -c ${mib}M /dev/zero | base64; echo END-$((6*7))\r`,
};

/**
 * Types a flood command at the prompt: MB/s (10^6 bytes) of terminal output received until the marker after it, and
 * the CPU the server process used meanwhile (% of one core; 0 for the baseline, which has no server).
 */
async function flood(shell: Shell, command: string, server: ServerProcess | null): Promise<{ rate: number; serverCpu: number }> {
  const done = shell.out.next((text) => text.includes('END-42'), 'end of the flood', 300_000);
  const prompt = shell.out.next(atPrompt, 'prompt after the flood', 300_000);
  const bytes0 = shell.out.bytes;
  const cpu0 = server ? await server.cpu() : null;
  const t0 = performance.now();
  shell.write(command);
  const at = await done;
  const cpu1 = server ? await server.cpu() : null;
  await prompt;
  const seconds = (at - t0) / 1000;
  const serverCpu = cpu0 && cpu1 ? ((cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1e6 / seconds) * 100 : 0;
  return { rate: (shell.out.bytes - bytes0) / 1e6 / seconds, serverCpu };
}

/** 5. Throughput under flood, with the server's memory high-water mark. */
async function floodSection(baseline: Baseline): Promise<NonNullable<Results['flood']>> {
  const server = await ServerProcess.start(SERVER_ENV);
  const attempt = await openAttempt(server.url, SETTINGS.exercise);
  const box = await baseline.attached();
  try {
    const before = await server.gc();
    const reset = await server.resetHighWaterMark();
    const kinds = { yes: FLOODS.yes(SETTINGS.floodSeconds), base64: FLOODS.base64(SETTINGS.floodMiB) };
    const out = {} as Record<keyof typeof kinds, { opslab: Summary; baseline: Summary; serverCpuPercent: number }>;
    for (const [kind, command] of Object.entries(kinds) as [keyof typeof kinds, string][]) {
      const rates = { opslab: [] as number[], baseline: [] as number[] };
      const cpu: number[] = [];
      // One short unmeasured pair first.
      const warmup = kind === 'yes' ? FLOODS.yes(1) : FLOODS.base64(4);
      for (let i = -1; i < SETTINGS.floodRounds; i++) {
        const a = await flood(attempt.shell, i < 0 ? warmup : command, server);
        const b = await flood(box.shell, i < 0 ? warmup : command, null);
        if (i < 0) continue;
        rates.opslab.push(a.rate);
        rates.baseline.push(b.rate);
        cpu.push(a.serverCpu);
        log(`flood ${kind} ${i + 1}/${SETTINGS.floodRounds}: opslab ${a.rate.toFixed(2)} MB/s, raw attach ${b.rate.toFixed(2)} MB/s`);
      }
      out[kind] = { opslab: summarize(rates.opslab), baseline: summarize(rates.baseline), serverCpuPercent: median(cpu) };
    }
    const after = await server.memory();
    return {
      ...out,
      rssBefore: before.rss,
      highWaterMark: after.hwm,
      highWaterMarkSince: reset ? 'the first flood' : 'the server started',
      rssAfter: after.rss,
    };
  } finally {
    box.shell.close();
    await baseline.remove(box.container);
    await attempt.end().catch(() => undefined);
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function ensureReady(docker: Docker, only: Section[]): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(
      `The Docker engine does not answer (${(err as Error).message}). \`npm start\` installs and starts it; ` +
        'or start dockerd and run the benchmark again.',
    );
  }
  const t0 = Date.now();
  // Built by `npm start` already; this only checks them (and builds what is missing or out of date).
  await ensureImages({
    engine: new DockerImageEngine(docker),
    repoRoot: repoRoot(),
    log: (line) => log(line),
    // The database section's PostgreSQL server, built as the tests' global setup builds it.
    ...(only.includes('database') ? { extra: [POSTGRES_IMAGE_TARGET] } : {}),
  });
  log(`images ready in ${Date.now() - t0} ms`);
  // Containers of an earlier benchmark that was killed.
  const old = await docker.listContainers({ all: true, filters: { label: [BENCH_LABEL] } });
  const stale = old.filter((c) => Date.now() / 1000 - c.Created > 3600);
  await Promise.all(stale.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
}

function writeMarkdown(results: Results): void {
  fs.writeFileSync(path.join(repoRoot(), 'bench', 'RESULTS.md'), renderMarkdown(results));
}

async function main(): Promise<void> {
  const { only, report } = parseArgs(process.argv.slice(2));
  if (report) {
    writeMarkdown(JSON.parse(fs.readFileSync(report, 'utf8')) as Results);
    log(`bench/RESULTS.md rewritten from ${report}`);
    return;
  }
  const docker = new Docker();
  await ensureReady(docker, only);
  const config = loadConfig({}, repoRoot());
  const catalog = ExerciseCatalog.load(path.join(repoRoot(), 'exercises'));
  const limits = effectiveLimits(config.sandbox, catalog.get(SETTINGS.exercise)?.limits);
  const baseline = new Baseline(docker, sandboxImageRef('base'), limits);
  const started = new Date();
  const results: Results = {
    version: 1,
    date: started.toISOString().replace(/\.\d+Z$/, 'Z'),
    partial: only.length !== SECTIONS.length,
    sections: only,
    machine: await describeMachine(docker),
    settings: SETTINGS,
    load: { before: loadAverage(), after: [0, 0, 0], sections: {}, machineBusyPercent: null },
  };
  const cpu0 = machineCpu();
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted: cleaning up');
    void baseline.removeAll().finally(() => process.exit(130));
  });
  try {
    for (const section of only) {
      if (interrupted) break;
      results.load.sections[section] = loadAverage();
      log(`${section}: load average ${results.load.sections[section]!.join(' ')}`);
      const t0 = Date.now();
      switch (section) {
        case 'start':
          results.start = await startSection(baseline);
          break;
        case 'echo':
          results.echo = await echoSection(baseline);
          break;
        case 'density':
          results.density = await densitySection();
          break;
        case 'grading':
          results.grading = await gradingSection(docker);
          break;
        case 'flood':
          results.flood = await floodSection(baseline);
          break;
        case 'gvisor':
          results.gvisor = await gvisorSection(docker, {
            exerciseId: SETTINGS.exercise,
            startRounds: SETTINGS.gvisorStartRounds,
            echoRounds: SETTINGS.gvisorEchoRounds,
            echoWarmup: SETTINGS.echoWarmup,
            server: (env) => ServerProcess.start({ ...SERVER_ENV, ...env }),
            log,
          });
          break;
        case 'database':
          results.database = await databaseSection({
            exerciseId: SETTINGS.exercise,
            gradingExercise: SETTINGS.dbGradingExercise,
            startRounds: SETTINGS.dbStartRounds,
            echoRounds: SETTINGS.dbEchoRounds,
            echoWarmup: SETTINGS.echoWarmup,
            gradingRuns: SETTINGS.dbGradingRuns,
            server: (env) => ServerProcess.start({ ...SERVER_ENV, ...env }),
            log,
          });
          break;
        case 'burst':
          results.burst = await burstSection({
            exercises: SETTINGS.burstExercises,
            attempts: SETTINGS.burstAttempts,
            typists: SETTINGS.burstTypists,
            typistExercise: SETTINGS.exercise,
            concurrencies: SETTINGS.burstConcurrency,
            keysPerSecond: SETTINGS.keysPerSecond,
            server: (env) => ServerProcess.start({ ...SERVER_ENV, ...env }),
            log,
          });
          break;
        case 'slo':
          results.slo = await sloSectionRun(docker);
          break;
      }
      log(`${section}: done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  } finally {
    await baseline.removeAll();
  }
  results.load.after = loadAverage();
  results.load.machineBusyPercent = busyPercent(cpu0, machineCpu());
  results.durationSeconds = Math.round((Date.now() - started.getTime()) / 1000);
  const dir = path.join(repoRoot(), 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${results.date.replace(/:/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const markdown = renderMarkdown(results);
  process.stdout.write(`\n${markdown}\n`);
  log(`results: ${path.relative(repoRoot(), file)}`);
  if (!results.partial) {
    writeMarkdown(results);
    log('bench/RESULTS.md rewritten');
  } else {
    log(`a partial run (${only.join(', ')}): bench/RESULTS.md left as it was`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
