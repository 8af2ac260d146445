// latency-slo's SLO measurement, studied: the `slo` clean-room job run many times for each checkout.ini that matters
// (each fault's reference fix, each fault untouched, each fault's wrong knob), with slo-met's own rule applied to
// every result. A reference that fails is a false fail; a fault or a wrong knob that passes is a false pass. Run
// quiet and under the load of a busy machine (other sandboxes' services, another grading), and for the probe of an
// earlier commit (BENCH_SLO_BASELINE_REF) next to the current one, in the same run, interleaved.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { Exercise } from '../server/src/exercises/catalog.js';
import { runCleanroom } from '../server/src/grading/cleanroom.js';
import type { FileSource } from '../server/src/grading/file-source.js';
import { repoRoot } from '../server/src/paths.js';
import type { DockerDriver } from '../server/src/sandbox/drivers/docker/docker-driver.js';
import { BENCH_LABEL } from './protocol.js';
import { fmt, summarize, type Summary } from './stats.js';

const FAULTS = ['pool', 'timeout', 'retry-storm'] as const;
type Fault = (typeof FAULTS)[number];
type Knobs = { workers: number; queue_size: number; timeout_ms: number; retries: number; retry_backoff_ms: number };

const SOUND: Knobs = { workers: 16, queue_size: 64, timeout_ms: 200, retries: 2, retry_backoff_ms: 50 };
/** exercises/latency-slo/setup: the fault each variant starts with. */
const FAULTY: Record<Fault, Partial<Knobs>> = {
  pool: { workers: 2, queue_size: 8 },
  timeout: { timeout_ms: 5000 },
  'retry-storm': { retries: 15, retry_backoff_ms: 0 },
};
/** exercises/latency-slo/wrong/wrong-knob: a setting that is not the cause, on top of the fault. */
const WRONG_KNOB: Record<Fault, Partial<Knobs>> = {
  pool: { timeout_ms: 1000, retries: 4 },
  timeout: { workers: 64, queue_size: 256 },
  'retry-storm': { workers: 64, timeout_ms: 1000 },
};

export interface SloCase {
  name: string;
  fault: Fault;
  /** What slo-met must say. */
  expect: 'pass' | 'fail';
  knobs: Knobs;
}

export function sloCases(): SloCase[] {
  return FAULTS.flatMap((fault) => [
    { name: `${fault}/reference`, fault, expect: 'pass' as const, knobs: SOUND },
    { name: `${fault}/untouched`, fault, expect: 'fail' as const, knobs: { ...SOUND, ...FAULTY[fault] } },
    { name: `${fault}/wrong-knob`, fault, expect: 'fail' as const, knobs: { ...SOUND, ...FAULTY[fault], ...WRONG_KNOB[fault] } },
  ]);
}

function ini(k: Knobs): string {
  return [
    '[server]',
    'listen = 127.0.0.1:8080',
    `workers = ${k.workers}`,
    `queue_size = ${k.queue_size}`,
    '[upstream]',
    'url = http://127.0.0.1:8081',
    `timeout_ms = ${k.timeout_ms}`,
    `retries = ${k.retries}`,
    `retry_backoff_ms = ${k.retry_backoff_ms}`,
    '',
  ].join('\n');
}

/** /etc/checkout with one checkout.ini, as the engine's archive API would hand it over. */
function configSource(text: string): FileSource {
  return {
    async copyOut(): Promise<Readable> {
      const pack = tarStream.pack();
      pack.entry({ name: 'checkout/', type: 'directory', mode: 0o755 });
      pack.entry({ name: 'checkout/checkout.ini', mode: 0o644 }, text);
      pack.finalize();
      return pack as unknown as Readable;
    },
  };
}

export interface SloRun {
  verdict: 'pass' | 'fail' | 'error';
  /** Measurements the job made (a re-measure after a disturbed fail counts). */
  measurements: number;
  p99Ms: number | null;
  errorRate: number | null;
  /** Failed requests of the last measurement, and how many it sent. */
  failed: number | null;
  requests: number | null;
  jobMs: number;
  detail: string;
}

/** slo-met's rule on a job's output (exercises/latency-slo/checks/slo-met). */
export function judge(output: string): Omit<SloRun, 'jobMs'> {
  const lines = output
    .split('\n')
    .filter((l) => l.startsWith('::cleanroom:: '))
    .map((l) => {
      try {
        return JSON.parse(l.slice('::cleanroom:: '.length)) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
  const slos = lines.filter((l) => l.kind === 'slo');
  const last = slos.at(-1);
  if (!last || !last.started) {
    return { verdict: 'error', measurements: slos.length, p99Ms: null, errorRate: null, failed: null, requests: null, detail: output.slice(-400) };
  }
  const n = Number(last.n);
  const errorRate = Number(last.errors) / n;
  const p99Ms = Number(last.p99_ms);
  const pass = p99Ms < 1000 && errorRate < 0.01;
  const detail = slos.map((s) => `p99 ${s.p99_ms} ms, errors ${String(s.errors)}/${String(s.n)} ${JSON.stringify(s.bad)}, lag ${JSON.stringify(s.lag ?? s.healthz_p90_ms)}`).join(' | ');
  return { verdict: pass ? 'pass' : 'fail', measurements: slos.length, p99Ms, errorRate, failed: Number(last.errors), requests: n, detail };
}

/** The exercise directory as it was at `ref` (its hidden/ and files/: what the slo job uses), in a temporary directory. */
export function exerciseAt(ref: string, exerciseId: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `opslab-slo-${ref.slice(0, 12)}-`));
  const tar = execFileSync('git', ['-C', repoRoot(), 'archive', ref, `exercises/${exerciseId}`], { maxBuffer: 64 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', dir, '--strip-components=2'], { input: tar });
  return dir;
}

const spread = (xs: number[]) => (xs.length ? { fewest: Math.min(...xs), most: Math.max(...xs) } : null);

export interface SloProbeResult {
  runs: number;
  probes: {
    probe: string;
    condition: string;
    cases: {
      name: string;
      expect: 'pass' | 'fail';
      passed: number;
      failed: number;
      errors: number;
      remeasured: number;
      p99Ms: Summary;
      /** Failed requests per measurement, fewest and most, and the requests of a measurement (median). */
      failedRequests: { fewest: number; most: number } | null;
      requests: number | null;
      jobMs: Summary;
      wrong: string[];
    }[];
  }[];
}

/**
 * `runs` jobs per case, probe and condition. `load` starts what a busy machine runs beside a grading, and stops it
 * after its condition.
 */
export async function sloProbeBench(opts: {
  driver: DockerDriver;
  exercise: Exercise;
  probes: { name: string; dir: string }[];
  conditions: { name: string; load: () => Promise<() => Promise<void>> }[];
  runs: number;
  cases?: string[];
  log: (msg: string) => void;
}): Promise<SloProbeResult> {
  const job = opts.exercise.cleanroom.find((j) => j.id === 'slo');
  if (!job) throw new Error(`${opts.exercise.id} has no slo clean-room job`);
  const cases = sloCases().filter((c) => !opts.cases?.length || opts.cases.includes(c.name));
  const out: SloProbeResult = { runs: opts.runs, probes: [] };
  for (const condition of opts.conditions) {
    const tallies = opts.probes.map((p) => ({
      probe: p.name,
      condition: condition.name,
      cases: cases.map((c) => ({ c, runs: [] as SloRun[] })),
    }));
    const stop = await condition.load();
    try {
      for (let i = 0; i < opts.runs; i++) {
        for (const [ci, c] of cases.entries()) {
          // Probes interleaved: drift on the machine meets both alike.
          for (const [pi, probe] of opts.probes.entries()) {
            const t0 = Date.now();
            const r = await runCleanroom(
              { driver: opts.driver, exercise: { dir: probe.dir } },
              configSource(ini(c.knobs)),
              job,
              { OPSLAB_VAR_FAULT: c.fault },
              { labels: { [BENCH_LABEL]: '1' }, exerciseId: opts.exercise.id },
            );
            const run = { ...judge(r.output.toString('utf8')), jobMs: Date.now() - t0 };
            tallies[pi]!.cases[ci]!.runs.push(run);
            opts.log(`slo ${condition.name} ${probe.name} ${c.name} ${i + 1}/${opts.runs}: ${run.verdict} in ${run.jobMs} ms (${run.detail})`);
          }
        }
      }
    } finally {
      await stop();
    }
    for (const t of tallies) {
      out.probes.push({
        probe: t.probe,
        condition: t.condition,
        cases: t.cases.map(({ c, runs }) => ({
          name: c.name,
          expect: c.expect,
          passed: runs.filter((r) => r.verdict === 'pass').length,
          failed: runs.filter((r) => r.verdict === 'fail').length,
          errors: runs.filter((r) => r.verdict === 'error').length,
          remeasured: runs.filter((r) => r.measurements > 1).length,
          p99Ms: summarize(runs.flatMap((r) => (r.p99Ms === null ? [] : [r.p99Ms]))),
          failedRequests: spread(runs.flatMap((r) => (r.failed === null ? [] : [r.failed]))),
          requests: summarize(runs.flatMap((r) => (r.requests === null ? [] : [r.requests]))).p50 || null,
          jobMs: summarize(runs.map((r) => r.jobMs)),
          wrong: runs.filter((r) => r.verdict !== c.expect).map((r) => r.detail),
        })),
      });
    }
  }
  return out;
}

/** What a busy machine runs beside a grading: one process spinning on each core, at the same priority. */
async function spinEveryCore(): Promise<() => Promise<void>> {
  const spinners = os.cpus().map(() => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
  return async () => {
    for (const p of spinners) p.kill('SIGKILL');
  };
}

/**
 * The section of `npm run bench`: the current probe, and the one at `baselineRef` when given, quiet and with every
 * core kept busy.
 */
export async function sloSection(opts: {
  driver: DockerDriver;
  exercise: Exercise;
  runs: number;
  baselineRef: string | null;
  log: (msg: string) => void;
}): Promise<SloProbeResult & { baselineRef: string | null }> {
  const probes = [{ name: 'current', dir: opts.exercise.dir }];
  const old = opts.baselineRef ? exerciseAt(opts.baselineRef, opts.exercise.id) : null;
  if (old) probes.unshift({ name: `at ${opts.baselineRef}`, dir: old });
  try {
    const r = await sloProbeBench({
      driver: opts.driver,
      exercise: opts.exercise,
      probes,
      conditions: [
        { name: 'quiet', load: async () => async () => undefined },
        { name: 'every core busy', load: spinEveryCore },
      ],
      runs: opts.runs,
      log: opts.log,
    });
    return { ...r, baselineRef: opts.baselineRef };
  } finally {
    if (old) fs.rmSync(old, { recursive: true, force: true });
  }
}

const wrongOf = (c: SloProbeResult['probes'][number]['cases'][number]) => (c.expect === 'pass' ? c.failed + c.errors : c.passed + c.errors);

/** False fails (a reference failed) and false passes (a fault passed) of one probe over every case and condition. */
export function sloRates(r: SloProbeResult, probe: string): { falseFail: [number, number]; falsePass: [number, number] } {
  const cases = r.probes.filter((p) => p.probe === probe).flatMap((p) => p.cases);
  const sum = (expect: 'pass' | 'fail') => {
    const of = cases.filter((c) => c.expect === expect);
    return [of.reduce((n, c) => n + wrongOf(c), 0), of.reduce((n, c) => n + c.passed + c.failed + c.errors, 0)] as [number, number];
  };
  return { falseFail: sum('pass'), falsePass: sum('fail') };
}

export function sloText(r: SloProbeResult & { baselineRef?: string | null }): string {
  const head = [
    '| probe | condition | checkout.ini | should | pass / fail / error | measured again | failed requests, fewest–most (of) | p99 median (max) | job median |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const rows = r.probes.flatMap((p) =>
    p.cases.map(
      (c) =>
        `| ${p.probe} | ${p.condition} | ${c.name} | ${c.expect} | ${c.passed} / ${c.failed} / ${c.errors}${wrongOf(c) ? ' **' + String(wrongOf(c)) + ' wrong**' : ''} | ` +
        `${c.remeasured} | ${c.failedRequests ? `${c.failedRequests.fewest}–${c.failedRequests.most} (${c.requests ?? '–'})` : '–'} | ` +
        `${fmt(c.p99Ms.p50)} (${fmt(c.p99Ms.max)}) ms | ${fmt(c.jobMs.p50)} ms |`,
    ),
  );
  const probes = [...new Set(r.probes.map((p) => p.probe))];
  const rates = probes.map((name) => {
    const x = sloRates(r, name);
    return `${name}: false fails ${x.falseFail[0]} of ${x.falseFail[1]}, false passes ${x.falsePass[0]} of ${x.falsePass[1]}`;
  });
  return [`latency-slo's \`slo\` clean-room job, ${r.runs} runs of each case per probe and condition. ${rates.join('; ')}.`, '', ...head, ...rows].join('\n');
}

export function sloMethod(r: SloProbeResult & { baselineRef?: string | null }): string {
  return (
    "- **latency-slo's SLO measurement** (`bench/slo-probe.ts`): the `slo` clean-room job of the exercise (its " +
    "measure.py and the clean room's pricing) run by the grading code, each time with a fresh container and one " +
    'checkout.ini: for each fault, the reference fix, the fault untouched and the wrong knob of `wrong/wrong-knob`. ' +
    "slo-met's rule is applied to each result (p99 < 1 s and < 1% of requests failing): a reference that fails is a " +
    'false fail, a fault that passes a false pass. Quiet, and with one process spinning on each core of the machine. ' +
    (r.baselineRef ? `The probe of \`${r.baselineRef}\` runs interleaved with the current one, case by case. ` : '') +
    '`BENCH_N_SLO` runs per case (default 20); `BENCH_SLO_BASELINE_REF` names a commit whose probe to compare.'
  );
}
