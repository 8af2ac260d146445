// Density: N attempts at once, each typed into at human speed; for growing N the echo latency, the CPU of each part
// of the machine (server, engine, containerd, sandboxes), memory per attempt for the server and for the whole
// machine, and file descriptors: where the echo passes its limit, which part saturated first.
import { performance } from 'node:perf_hooks';
import { openAttempt, sleep, type OpslabAttempt } from './client.js';
import { busyPercent, loadAverage, machineCpu, type ServerProcess } from './machine.js';
import { busiest, cpuBetween, descriptors, PARTS, sampleCpu, sampleMemory, type Descriptors, type MemorySample, type Part } from './saturation.js';
import { summarize, type Summary } from './stats.js';
import { typeInto } from './typing.js';

export interface DensityOptions {
  exerciseId: string;
  levels: number[];
  /** Typing time per level. */
  seconds: number;
  /** Keystrokes per second per attempt (about 5 is 60 words a minute). */
  keysPerSecond: number;
  /** Echo p99 limit; the run stops after `stopAfter` levels above it. */
  limitMs: number;
  stopAfter: number;
  /** Attempts started at the same time while growing. */
  startConcurrency: number;
  /** Idle attempts the memory figure needs at least (measured idle even when typing stopped early). */
  memoryAttempts: number;
  log: (msg: string) => void;
}

export interface DensityLevel {
  n: number;
  /** Echo latency of every keystroke of every attempt during the typing time (ms); a lost echo counts as 10 s. */
  echo: Summary;
  keystrokes: number;
  lostEchoes: number;
  /** The server process's CPU time during the typing time, in % of one core. */
  serverCpuPercent: number;
  /** The whole machine's busy CPU during the typing time, in % of all cores (engine, shells, client included). */
  machineCpuPercent: number | null;
  /** Server memory with N idle attempts connected, after a full GC, minus the same with none, per attempt (bytes). */
  rssPerAttempt: number;
  heapPerAttempt: number;
  rss: number;
  /** Time to grow to N attempts (ms). */
  growMs: number;
  load: [number, number, number];
  /** CPU of each part of the machine during the typing time, in % of one core (bench/saturation.ts). */
  cpuByPart: Record<Part, number>;
  /** The part with the most CPU during the typing time. */
  busiest: Part;
  /** With N idle attempts: memory in use on the whole machine, minus the same with none, per attempt (bytes). */
  machinePerAttempt: number;
  /** ... and each part's proportional memory (PSS), minus the same with none, per attempt (bytes). */
  pssPerAttempt: Record<Part, number>;
  /** Open file descriptors at the end of the typing time, and their limits. */
  fds: Descriptors;
}

export interface DensityResult {
  levels: DensityLevel[];
  baseline: { rss: number; heapUsed: number };
  /** The largest N measured with echo p99 under the limit (0 if none). */
  largestN: number;
  stoppedEarly: boolean;
  /** Memory of the machine with no attempt (after one warmed the server up). */
  machineBaseline: { used: number; pss: Record<Part, number> };
  /** The first level whose echo p99 passed the limit, and the part with the most CPU there. */
  saturation: { n: number; busiest: Part; cpuByPart: Record<Part, number>; machineCpuPercent: number | null } | null;
  /** Memory with more idle attempts than the last typing level had (when typing stopped early). */
  idle?: { n: number; rss: number; rssPerAttempt: number; heapPerAttempt: number };
  keysPerSecond: number;
  seconds: number;
  limitMs: number;
}


export async function density(server: ServerProcess, opts: DensityOptions): Promise<DensityResult> {
  const { log } = opts;
  const attempts: OpslabAttempt[] = [];
  // Warm the server's code paths with one attempt, then the memory with none.
  const warm = await openAttempt(server.url, opts.exerciseId);
  await warm.end();
  await sleep(500);
  const base = await server.gc();
  const pid = server.child.pid ?? -1;
  const machineBase: MemorySample = sampleMemory(pid);
  const result: DensityResult = {
    levels: [],
    baseline: { rss: base.rss, heapUsed: base.heapUsed },
    machineBaseline: { used: machineBase.machineUsed, pss: machineBase.pss },
    saturation: null,
    largestN: 0,
    stoppedEarly: false,
    keysPerSecond: opts.keysPerSecond,
    seconds: opts.seconds,
    limitMs: opts.limitMs,
  };
  let over = 0;
  let failures = 0;
  const grow = async (n: number) => {
    while (attempts.length < n) {
      const batch = Math.min(opts.startConcurrency, n - attempts.length);
      const started = await Promise.allSettled(Array.from({ length: batch }, () => openAttempt(server.url, opts.exerciseId)));
      for (const s of started) {
        if (s.status === 'fulfilled') attempts.push(s.value);
        else if (++failures > 5) throw s.reason;
        else log(`density: a start failed (${(s.reason as Error).message}); trying again`);
      }
    }
  };
  /** Idle memory: every attempt connected, nobody typing, after a full GC. */
  const idleMemory = async () => {
    await sleep(2000);
    return server.gc();
  };
  try {
    for (const n of opts.levels) {
      const t0 = performance.now();
      await grow(n);
      const growMs = performance.now() - t0;
      const mem = await idleMemory();
      const machineMem = sampleMemory(pid);
      log(`density N=${n}: grown in ${(growMs / 1000).toFixed(1)} s; server RSS ${(mem.rss / 2 ** 20).toFixed(1)} MiB`);

      const cpu0 = await server.cpu();
      const m0 = machineCpu();
      const parts0 = sampleCpu(pid);
      const w0 = performance.now();
      const end = w0 + opts.seconds * 1000;
      const { latencies, lost } = await typeInto(
        attempts.map((a) => a.shell),
        opts.keysPerSecond,
        () => performance.now() >= end,
      );
      const wall = performance.now() - w0;
      const cpu1 = await server.cpu();
      const m1 = machineCpu();
      const cpuByPart = cpuBetween(parts0, sampleCpu(pid));
      const pssPerAttempt = Object.fromEntries(PARTS.map((p) => [p, (machineMem.pss[p] - machineBase.pss[p]) / n])) as Record<Part, number>;
      const level: DensityLevel = {
        n,
        echo: summarize(latencies),
        keystrokes: latencies.length,
        lostEchoes: lost,
        serverCpuPercent: ((cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000 / wall) * 100,
        machineCpuPercent: busyPercent(m0, m1),
        rssPerAttempt: (mem.rss - base.rss) / n,
        heapPerAttempt: (mem.heapUsed - base.heapUsed) / n,
        rss: mem.rss,
        growMs,
        load: loadAverage(),
        cpuByPart,
        busiest: busiest(cpuByPart),
        machinePerAttempt: (machineMem.machineUsed - machineBase.machineUsed) / n,
        pssPerAttempt,
        fds: descriptors(pid),
      };
      result.levels.push(level);
      log(
        `density N=${n}: echo p50 ${level.echo.p50.toFixed(2)} ms, p99 ${level.echo.p99.toFixed(2)} ms over ` +
          `${level.keystrokes} keystrokes (${lost} lost); server CPU ${level.serverCpuPercent.toFixed(0)}% of a core; ` +
          `busiest ${level.busiest} (${PARTS.map((p) => `${p} ${cpuByPart[p].toFixed(0)}%`).join(', ')}); ` +
          `machine memory ${(level.machinePerAttempt / 2 ** 20).toFixed(1)} MiB per attempt; fds server ${level.fds.server}, dockerd ${level.fds.dockerd}`,
      );
      if (level.echo.p99 < opts.limitMs) result.largestN = Math.max(result.largestN, n);
      else {
        result.saturation ??= { n, busiest: level.busiest, cpuByPart, machineCpuPercent: level.machineCpuPercent };
      }
      if (level.echo.p99 >= opts.limitMs && ++over >= opts.stopAfter) {
        result.stoppedEarly = n !== opts.levels[opts.levels.length - 1];
        break;
      }
    }
    // Memory per idle attempt does not depend on the echo: when typing stopped early, it is still measured with as
    // many idle attempts as the memory target names (or the largest level, if smaller).
    const memoryN = Math.min(opts.memoryAttempts, Math.max(...opts.levels));
    if (attempts.length < memoryN) {
      await grow(memoryN);
      const mem = await idleMemory();
      result.idle = { n: memoryN, rss: mem.rss, rssPerAttempt: (mem.rss - base.rss) / memoryN, heapPerAttempt: (mem.heapUsed - base.heapUsed) / memoryN };
      log(`density: ${memoryN} idle attempts: server RSS ${(mem.rss / 2 ** 20).toFixed(1)} MiB`);
    }
  } finally {
    for (const a of attempts) a.shell.close();
  }
  return result;
}
