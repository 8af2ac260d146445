// The end of a workshop: many attempts (mixed exercises) submitted within one second while other people keep
// typing. Per grading concurrency (OPSLAB_GRADING_CONCURRENCY): the time until the last one is graded, each
// submit's wait, and the typists' keystroke echo meanwhile. The knee is the smallest concurrency past which more
// gradings at once no longer finish the burst sooner.
import { performance } from 'node:perf_hooks';
import { openAttempt, sleep, startAttempt, submit, type OpslabAttempt } from './client.js';
import { busyPercent, machineCpu, type ServerProcess } from './machine.js';
import { summarize, type Summary } from './stats.js';
import { typeInto } from './typing.js';

export interface BurstLevel {
  concurrency: number;
  /** From the first submit sent to the last one answered (every final grading done), ms. */
  lastGradedMs: number;
  /** Each submit: sent → answered (its final grading done), ms. */
  wait: Summary;
  failedSubmits: number;
  /** The typists' keystroke echo from the first submit to the last answer. */
  echo: Summary;
  lostEchoes: number;
  serverCpuPercent: number;
  machineCpuPercent: number | null;
}

export interface BurstResult {
  exercises: string[];
  attempts: number;
  typists: number;
  levels: BurstLevel[];
  /** The smallest concurrency whose burst finished within 10% of the fastest level's; null when none was measured. */
  knee: number | null;
}

export interface BurstOptions {
  exercises: string[];
  attempts: number;
  typists: number;
  typistExercise: string;
  concurrencies: number[];
  keysPerSecond: number;
  /** Starts a server under test with these extra settings. */
  server: (env: Record<string, string>) => Promise<ServerProcess>;
  log: (line: string) => void;
}

/** Starts `n` attempts, `batch` at a time. */
async function startMany<T>(n: number, batch: number, start: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => start(i + k)))));
  }
  return out;
}

async function level(concurrency: number, opts: BurstOptions): Promise<BurstLevel> {
  const server = await opts.server({
    OPSLAB_GRADING_CONCURRENCY: String(concurrency),
    // The hiring exercises are started through the practice route here.
    OPSLAB_PRACTICE_EXERCISES: 'all',
  });
  let typists: OpslabAttempt[] = [];
  try {
    opts.log(`burst c=${concurrency}: starting ${opts.typists} typists and ${opts.attempts} attempts`);
    typists = await startMany(opts.typists, 4, () => openAttempt(server.url, opts.typistExercise));
    const burst = await startMany(opts.attempts, 4, (i) => startAttempt(server.url, opts.exercises[i % opts.exercises.length]!));
    let done = false;
    const cpu0 = await server.cpu();
    const m0 = machineCpu();
    const typing = typeInto(
      typists.map((t) => t.shell),
      opts.keysPerSecond,
      () => done,
    );
    await sleep(1000);
    // Every submit within one second, in a random order of exercises.
    const t0 = performance.now();
    const spacing = 1000 / opts.attempts;
    const waits: number[] = [];
    let failed = 0;
    let last = t0;
    await Promise.all(
      burst.map(async (a, i) => {
        await sleep(i * spacing);
        const sent = performance.now();
        try {
          await submit(server.url, a.id, a.token);
        } catch (err) {
          failed++;
          opts.log(`burst c=${concurrency}: a submit failed: ${(err as Error).message}`);
        }
        const answered = performance.now();
        waits.push(answered - sent);
        last = Math.max(last, answered);
      }),
    );
    done = true;
    const typed = await typing;
    const wall = performance.now() - t0;
    const cpu1 = await server.cpu();
    const result: BurstLevel = {
      concurrency,
      lastGradedMs: last - t0,
      wait: summarize(waits),
      failedSubmits: failed,
      echo: summarize(typed.latencies),
      lostEchoes: typed.lost,
      serverCpuPercent: ((cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000 / wall) * 100,
      machineCpuPercent: busyPercent(m0, machineCpu()),
    };
    opts.log(
      `burst c=${concurrency}: last graded after ${(result.lastGradedMs / 1000).toFixed(1)} s, wait p50 ` +
        `${(result.wait.p50 / 1000).toFixed(1)} s, typists' echo p99 ${result.echo.p99.toFixed(1)} ms`,
    );
    return result;
  } finally {
    await Promise.all(typists.map((t) => t.end().catch(() => undefined)));
    await server.stop();
  }
}

export async function burstSection(opts: BurstOptions): Promise<BurstResult> {
  const levels: BurstLevel[] = [];
  for (const c of opts.concurrencies) levels.push(await level(c, opts));
  const fastest = Math.min(...levels.map((l) => l.lastGradedMs));
  const knee = levels.length ? [...levels].sort((a, b) => a.concurrency - b.concurrency).find((l) => l.lastGradedMs <= fastest * 1.1)!.concurrency : null;
  return { exercises: opts.exercises, attempts: opts.attempts, typists: opts.typists, levels, knee };
}

const f = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The grading-burst subsection of bench/RESULTS.md. */
export function burstText(b: BurstResult): string {
  return [
    `${b.attempts} attempts (${b.exercises.join(', ')} in turn, untouched) submitted within one second while ` +
      `${b.typists} other attempts keep typing. The knee (the smallest grading concurrency within 10% of the ` +
      `fastest burst): **${b.knee ?? '–'}**.`,
    '',
    '| grading concurrency | last graded (s) | wait p50 (s) | wait p99 (s) | failed submits | typists\' echo p50 (ms) | echo p99 (ms) | lost echoes | server CPU (% of a core) | machine CPU (%) |',
    '| --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
    ...b.levels.map(
      (l) =>
        `| ${l.concurrency} | ${f(l.lastGradedMs / 1000)} | ${f(l.wait.p50 / 1000)} | ${f(l.wait.p99 / 1000)} | ${l.failedSubmits} | ` +
        `${f(l.echo.p50)} | ${f(l.echo.p99)} | ${l.lostEchoes} | ${f(l.serverCpuPercent)} | ${l.machineCpuPercent === null ? '–' : f(l.machineCpuPercent)} |`,
    ),
  ].join('\n');
}

/** How the burst is measured (a bullet of the method section). */
export function burstMethod(b: BurstResult): string {
  return (
    `- **Grading burst**: per grading concurrency a fresh server (\`OPSLAB_GRADING_CONCURRENCY\`); ${b.typists} ` +
    `attempts connected and typing as in the density section, ${b.attempts} attempts started untouched; after a second ` +
    'of typing every one of them is submitted, evenly spread over one second. A submit answers once its final ' +
    'grading is stored, so the last answer is the last grading; the echo covers the typing from the first submit to ' +
    'the last answer.'
  );
}
