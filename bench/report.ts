// The results file's shape and bench/RESULTS.md rendered from it.
import type { DensityResult } from './density.js';
import { PARTS } from './saturation.js';
import type { GradingExerciseResult } from './grading.js';
import { burstMethod, burstText, type BurstResult } from './burst.js';
import { gvisorMethod, gvisorText, type GvisorResult } from './gvisor.js';
import { databaseMethod, databaseText, type DatabaseResult } from './database.js';
import { sloMethod, sloRates, sloText, type SloProbeResult } from './slo-probe.js';
import type { MachineInfo } from './machine.js';
import { fmt, MiB, ratio, type Summary } from './stats.js';

type FloodKind = { opslab: Summary; baseline: Summary; serverCpuPercent: number };
type Phases = { post: Summary; open: Summary; first: Summary; prompt: Summary };

export interface Results {
  version: 1;
  date: string;
  partial: boolean;
  sections: string[];
  machine: MachineInfo;
  settings: {
    exercise: string;
    startRounds: number;
    echoRounds: number;
    echoWarmup: number;
    floodRounds: number;
    floodSeconds: number;
    floodMiB: number;
    densityLevels: number[];
    densitySeconds: number;
    keysPerSecond: number;
    densityLimitMs: number;
    gradingRuns: number;
    gradingExercises: string[];
    gvisorStartRounds?: number;
    gvisorEchoRounds?: number;
    dbStartRounds?: number;
    dbEchoRounds?: number;
    dbGradingRuns?: number;
    dbGradingExercise?: string;
    burstAttempts?: number;
    burstTypists?: number;
    burstConcurrency?: number[];
    burstExercises?: string[];
    sloRuns?: number;
    sloBaselineRef?: string | null;
  };
  load: {
    before: [number, number, number];
    after: [number, number, number];
    /** Load average when each section began. */
    sections: Record<string, [number, number, number]>;
    /** The whole machine's busy CPU over the run, % of all cores. */
    machineBusyPercent: number | null;
  };
  durationSeconds?: number;
  start?: { warm: Phases; cold: Phases; baseline: { first: Summary; prompt: Summary } };
  echo?: { opslab: Summary; attach: Summary; exec: Summary };
  density?: DensityResult;
  grading?: GradingExerciseResult[];
  flood?: {
    yes: FloodKind;
    base64: FloodKind;
    rssBefore: number;
    highWaterMark: number | null;
    highWaterMarkSince: string;
    rssAfter: number;
  };
  gvisor?: GvisorResult;
  database?: DatabaseResult;
  burst?: BurstResult;
  slo?: SloProbeResult & { baselineRef: string | null };
}

interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

const yes = (met: boolean | null) => (met === null ? 'not measured' : met ? 'met' : '**not met**');
const mib = (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? '–' : `${fmt(bytes / MiB)} MiB`);

/** The memory figure from the most idle attempts measured (the most precise: the noise is divided by N). */
function memoryFigure(d: DensityResult | undefined): { n: number; rssPerAttempt: number; heapPerAttempt: number } | null {
  if (!d) return null;
  const last = d.levels[d.levels.length - 1];
  if (d.idle && (!last || d.idle.n > last.n)) return d.idle;
  return last ?? null;
}

export function targets(r: Results): Target[] {
  const out: Target[] = [];
  const s = r.start;
  out.push({
    what: 'Warm start to first prompt',
    goal: 'median < 50 ms',
    measured: s ? `median ${fmt(s.warm.prompt.p50)} ms (p99 ${fmt(s.warm.prompt.p99)} ms)` : '–',
    met: s ? s.warm.prompt.p50 < 50 : null,
  });
  const coldRatio = s ? ratio(s.cold.prompt.p50, s.baseline.prompt.p50) : null;
  out.push({
    what: 'Cold start to first prompt',
    goal: '≤ 1.3× raw docker create + start + attach',
    measured: s ? `median ${fmt(s.cold.prompt.p50)} ms vs ${fmt(s.baseline.prompt.p50)} ms: ${fmt(coldRatio, '×')}` : '–',
    met: coldRatio === null ? null : coldRatio <= 1.3,
  });
  const e = r.echo;
  const echoRatio = e ? ratio(e.opslab.p50, e.attach.p50) : null;
  out.push({
    what: 'Keystroke echo',
    goal: 'median < 2 ms, p99 < 10 ms, < 2× raw attach',
    measured: e
      ? `median ${fmt(e.opslab.p50)} ms, p99 ${fmt(e.opslab.p99)} ms; ${fmt(echoRatio, '×')} the raw attach's median ` +
        `(p99 ${fmt(ratio(e.opslab.p99, e.attach.p99), '×')})`
      : '–',
    met: e ? e.opslab.p50 < 2 && e.opslab.p99 < 10 && echoRatio !== null && echoRatio < 2 : null,
  });
  const d = r.density;
  out.push({
    what: 'Concurrent attempts',
    goal: '≥ 100 with echo p99 < 50 ms',
    measured: d ? `largest N with p99 < ${d.limitMs} ms: ${d.largestN}${d.stoppedEarly ? ' (stopped early)' : ''}` : '–',
    met: d ? d.largestN >= 100 : null,
  });
  const mem = memoryFigure(d);
  out.push({
    what: 'Server memory per idle attempt',
    goal: '< 2 MB',
    measured: mem ? `${mib(mem.rssPerAttempt)} RSS (${mib(mem.heapPerAttempt)} JS heap) at N=${mem.n}` : '–',
    met: mem ? mem.rssPerAttempt < 2e6 : null,
  });
  const g = r.grading;
  out.push({
    what: 'Full grading of each exercise',
    goal: '< 5 s',
    measured: g ? g.map((x) => `${x.exerciseId} ${fmt(x.full.p50 / 1000)} s`).join(', ') : '–',
    met: g ? g.every((x) => x.full.p50 < 5000) : null,
  });
  const slo = r.slo ? sloRates(r.slo, 'current') : null;
  out.push({
    what: "latency-slo's SLO measurement",
    goal: 'no false fail or false pass',
    measured: slo
      ? `false fails ${slo.falseFail[0]} of ${slo.falseFail[1]} references, false passes ${slo.falsePass[0]} of ${slo.falsePass[1]} faults and wrong knobs`
      : '–',
    met: slo ? slo.falseFail[0] === 0 && slo.falsePass[0] === 0 : null,
  });
  return out;
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

export function mainTable(r: Results): string {
  const lines = [
    row(['measurement', 'N', 'opslab p50', 'opslab p99', 'baseline', 'baseline p50', 'baseline p99', 'ratio p50', 'ratio p99']),
    row(['---', '--:', '--:', '--:', '---', '--:', '--:', '--:', '--:']),
  ];
  const add = (what: string, o: Summary, baseName: string, b: Summary | null) =>
    lines.push(
      row([
        what,
        o.n,
        fmt(o.p50),
        fmt(o.p99),
        baseName,
        b ? fmt(b.p50) : '–',
        b ? fmt(b.p99) : '–',
        b ? fmt(ratio(o.p50, b.p50), '×') : '–',
        b ? fmt(ratio(o.p99, b.p99), '×') : '–',
      ]),
    );
  if (r.start) {
    const raw = 'raw `docker create` + `start` + attach';
    add('Start → first prompt, warm pool (ms)', r.start.warm.prompt, raw, r.start.baseline.prompt);
    add('Start → first prompt, cold (ms)', r.start.cold.prompt, raw, r.start.baseline.prompt);
    // The first shell byte usually comes with the prompt (the repaint carries it): a row of its own only if not.
    const same = (a: Summary, b: Summary) => a.p50 === b.p50 && a.p99 === b.p99;
    if (!same(r.start.warm.first, r.start.warm.prompt) || !same(r.start.baseline.first, r.start.baseline.prompt)) {
      add('Start → first shell byte, warm pool (ms)', r.start.warm.first, raw, r.start.baseline.first);
    }
    if (!same(r.start.cold.first, r.start.cold.prompt) || !same(r.start.baseline.first, r.start.baseline.prompt)) {
      add('Start → first shell byte, cold (ms)', r.start.cold.first, raw, r.start.baseline.first);
    }
  }
  if (r.echo) {
    add('Keystroke echo (ms)', r.echo.opslab, 'raw attach to the TTY', r.echo.attach);
    add('Keystroke echo (ms)', r.echo.opslab, '`docker exec -it bash`', r.echo.exec);
  }
  if (r.grading) {
    for (const g of r.grading) {
      add(`Grading ${g.exerciseId}, full (${g.checks} checks) (ms)`, g.full, 'one grader container', g.baseline);
      add(`Grading ${g.exerciseId}, one check (ms)`, g.single, 'one grader container', g.baseline);
    }
  }
  if (r.gvisor?.runc && r.gvisor.runsc) {
    add('Start → first prompt, cold, gVisor (ms)', r.gvisor.runsc.start, 'the same under runc', r.gvisor.runc.start);
    add('Keystroke echo, gVisor (ms)', r.gvisor.runsc.echo, 'the same under runc', r.gvisor.runc.echo);
  }
  if (r.database) {
    const d = r.database;
    add('Start → first prompt, cold, PostgreSQL (ms)', d.postgres.start, 'the same on SQLite', d.sqlite.start);
    add('Keystroke echo, PostgreSQL (ms)', d.postgres.echo, 'the same on SQLite', d.sqlite.echo);
    add(`Submit → grading read, ${d.gradingExercise}, PostgreSQL (ms)`, d.postgres.grading, 'the same on SQLite', d.sqlite.grading);
  }
  if (r.flood) {
    add(`Throughput, \`yes\` for ${r.settings.floodSeconds} s (MB/s)`, r.flood.yes.opslab, 'raw attach to the TTY', r.flood.yes.baseline);
    add(`Throughput, ${r.settings.floodMiB} MiB base64 (MB/s)`, r.flood.base64.opslab, 'raw attach to the TTY', r.flood.base64.baseline);
  }
  return lines.join('\n');
}

function densityTable(d: DensityResult): string {
  const lines = [
    row(['N attempts', 'keystrokes', 'echo p50 (ms)', 'echo p99 (ms)', 'lost echoes', 'server CPU (% of a core)', 'machine CPU (% of all cores)', 'server RSS', 'RSS / idle attempt', 'JS heap / idle attempt', 'load (1 min)']),
    row(['--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:']),
  ];
  const parts = densityPartsTable(d);
  for (const l of d.levels) {
    lines.push(
      row([
        l.n,
        l.keystrokes,
        fmt(l.echo.p50),
        `${fmt(l.echo.p99)}${l.echo.p99 >= d.limitMs ? ' ✘' : ''}`,
        l.lostEchoes,
        fmt(l.serverCpuPercent),
        fmt(l.machineCpuPercent),
        mib(l.rss),
        mib(l.rssPerAttempt),
        mib(l.heapPerAttempt),
        fmt(l.load[0]),
      ]),
    );
  }
  return parts ? `${lines.join('\n')}\n\n${parts}` : lines.join('\n');
}

/** Where the machine's CPU and memory went at each level (results from before the per-part figures have none). */
function densityPartsTable(d: DensityResult): string | null {
  if (!d.levels.every((l) => l.cpuByPart)) return null;
  const lines = [
    row(['N attempts', ...PARTS.map((p) => `${p} CPU (% of a core)`), 'busiest', 'machine memory / attempt', 'sandboxes + containerd PSS / attempt', 'fds server / limit', 'fds dockerd / limit']),
    row(['--:', ...PARTS.map(() => '--:'), ':--', '--:', '--:', '--:', '--:']),
  ];
  const fds = (n: number | null, limit: number | null) => `${n ?? '–'} / ${limit === null ? '–' : Number.isFinite(limit) ? limit : 'unlimited'}`;
  for (const l of d.levels) {
    lines.push(
      row([
        l.n,
        ...PARTS.map((p) => fmt(l.cpuByPart[p])),
        l.busiest,
        mib(l.machinePerAttempt),
        mib(l.pssPerAttempt.sandboxes + l.pssPerAttempt.containerd),
        fds(l.fds.server, l.fds.serverLimit),
        fds(l.fds.dockerd, l.fds.dockerdLimit),
      ]),
    );
  }
  return lines.join('\n');
}

function gradingTable(g: GradingExerciseResult[]): string {
  const lines = [
    row(['exercise', 'checks', 'clean-room jobs', 'full p50 (ms)', 'grader start', 'copy', 'clean room', 'checks', 'slowest check', `one check (\`${'only'}\`) p50`, 'its exec p50']),
    row(['---', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '---', '--:', '--:']),
  ];
  for (const x of g) {
    lines.push(
      row([
        x.exerciseId,
        x.checks,
        x.cleanroomJobs,
        fmt(x.full.p50),
        fmt(x.phases.graderStartMs),
        fmt(x.phases.copyMs),
        fmt(x.phases.cleanroomMs),
        fmt(x.phases.checksMs),
        `${x.slowestCheck.id} (${fmt(x.slowestCheck.ms)} ms)`,
        `${fmt(x.single.p50)} (${x.singleCheck})`,
        fmt(x.singleCheckExec.p50),
      ]),
    );
  }
  return lines.join('\n');
}

/** The highest 1-minute load average seen at the run's start, end and section starts. */
const busiest = (r: Results) => Math.max(r.load.before[0], r.load.after[0], ...Object.values(r.load.sections).map((l) => l[0]));

const loadText = (l: [number, number, number]) => l.map((x) => x.toFixed(2)).join(' / ');

function machineText(r: Results): string {
  const m = r.machine;
  const sections = Object.entries(r.load.sections)
    .map(([k, v]) => `${k} ${loadText(v)}`)
    .join('; ');
  return [
    `- CPU: ${m.cpuModel}, ${m.cores} cores (nproc); memory ${m.memoryGiB} GiB`,
    `- ${m.os}, kernel ${m.kernel}; Docker Engine ${m.docker} (API ${m.dockerApi}, ${m.storageDriver}, cgroup ${m.cgroup})`,
    `- Node ${m.node}; commit ${m.commit}`,
    `- Load average (1 / 5 / 15 min): before the run ${loadText(r.load.before)}, after ${loadText(r.load.after)}; ` +
      `when each section began: ${sections}. The whole machine was busy ${fmt(r.load.machineBusyPercent)}% of its ` +
      `CPU time over the run (all cores, every process: the server, the benchmark's clients, the engine, the ` +
      `sandboxes${r.load.before[0] > 1.5 ? ', and other work on the machine' : ''}).`,
    busiest(r) > 1.5
      ? `- **The machine was loaded by other work during this run** (a 1-minute load average of up to ` +
        `${fmt(busiest(r))} on ${m.cores} cores, against the 1.5 a quiet run should start below): latency ` +
        'percentiles, the density levels and the grading times are pessimistic; ratios to the baselines, measured in ' +
        'the same moments, are the better guide.'
      : `- The machine was quiet (1-minute load average at most ${fmt(busiest(r))}).`,
    r.durationSeconds ? `- The run took ${Math.round(r.durationSeconds / 60)} min.` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

function method(r: Results): string {
  const s = r.settings;
  return `Every section runs a real opslab server (\`bench/server.ts\`: \`buildApp\` on 127.0.0.1, a random port) in a
process of its own, started with \`--expose-gc\`, so that its CPU time and memory are its own; the clients run in the
benchmark's process. opslab and its baseline run on the same engine and image (\`opslab/sandbox-base\`, exercise
\`${s.exercise}\`), alternating one opslab sample and one baseline sample so that drift on the machine affects both
alike. Times are \`performance.now()\` when the bytes arrive in the client's \`message\`/\`data\` handler. p99 is the
nearest rank: with fewer than 100 samples it is the largest one.

- **Start → first prompt**: opslab = \`POST /api/attempts\`, then the terminal WebSocket, until the first binary
  output byte and until the output received ends with the whole prompt. Cold: a server without a pool; the POST
  answers once the sandbox runs (and an exercise's setup script has run: \`${s.exercise}\` has none); the workspace is
  copied in and the initial snapshot taken while the shell prints its prompt, typed input held until they are done
  (the server logs each step's time: \`attempt started\` and \`attempt provisioned\`, at level info). Warm: a
  server with \`OPSLAB_WARM_POOL=${s.exercise}=1\`; the start claims the pooled sandbox (terminal and recording
  opened, Ctrl-L for a fresh prompt); before each warm sample the pool is full and idle, and its refill is over
  before the cold sample. Each attempt is then submitted (not timed). Baseline = dockerode \`createContainer\` with
  the flags of opslab's Docker driver (TTY, open stdin, \`bash -l\`, capabilities dropped but the allow-list,
  no-new-privileges, no network, the same limits, init, log cap), \`attach\` (hijacked), \`start\`, until the same
  two events; then force-removed. One unmeasured round first; N=${s.startRounds} rounds.
- **Keystroke echo**: one printable character, time until it comes back; then a backspace whose echo is awaited
  (not timed), so the line stays empty. opslab = one binary WebSocket frame into a running attempt. Baseline = the
  raw hijacked \`attach\` stream of a container's own \`bash -l\` (the engine path opslab uses); also \`docker exec\` of
  \`bash\` with a TTY in the same container. A B C A B C …; ${s.echoWarmup} unmeasured rounds first; N=${s.echoRounds}.
- **Density**: attempts are started (4 at a time) and connected until there are N (${s.densityLevels.join(', ')});
  then, with every attempt connected and idle for 2 s, the server is garbage-collected and its RSS and JS heap read:
  the memory per idle attempt is (that − the same with no attempt, after one attempt warmed the server up) / N.
  Then every attempt types for ${s.densitySeconds} s at about ${s.keysPerSecond} keystrokes a second (letters and
  backspaces in turn, gaps drawn between 0.5 and 1.5 times the mean, starts staggered), each keystroke timed until
  its echo; a keystroke whose echo never came counts as 10 s. Server CPU = its process's user + system time over
  the typing time (100% = one core); machine CPU = the busy share of all cores from /proc/stat (the engine, the
  shells and the benchmark's own clients included). The run stops after two levels with echo p99 ≥ ${s.densityLimitMs} ms;
  if it stopped with fewer than 100 attempts, idle ones are added up to 100 (or the largest level) and the memory per
  idle attempt is measured once more, since it does not depend on the echo. Per part (bench/saturation.ts, from
  /proc): CPU over the typing time of the server, dockerd, containerd and its shims, the sandboxes' processes (by
  cgroup), the benchmark's clients and everything else (processes that ended meanwhile are not counted); memory per
  attempt on the whole machine = (MemTotal − MemAvailable with N idle attempts − the same with none) / N, and each
  part's proportional set size (PSS) the same way; open file descriptors of the server and of dockerd against
  their limits.
- **Grading**: per exercise a sandbox is created and provisioned with a random variant and its reference answer
  (\`solution/apply\`) is applied, so every check runs to its end; then, ${s.gradingRuns} times (after one
  unmeasured round): \`gradeSandbox()\` with every check (grader container, the copy of the candidate's files, the
  clean-room jobs, the checks one after another, the grader removed), \`gradeSandbox()\` with \`only\` the first check
  (the same run for one check: the clean-room jobs still run), and the floor of any grading on this engine: one
  container of the grader image created, started, \`true\` exec'd in it, removed. "Its exec" is the first check's
  own run inside the grader, from the full runs.
- **Throughput**: \`timeout ${s.floodSeconds} yes; echo END-$((6*7))\` typed at the prompt, then
  \`head -c ${s.floodMiB}M /dev/zero | base64; echo END-$((6*7))\`; MB/s = terminal output bytes received / time from
  the command to \`END-42\`. \`yes\` writes a line per two bytes, and the kernel's TTY (which turns each LF into CR
  LF) is what sets its pace, for opslab and the baseline alike; base64's 76-character lines show what the path
  behind the TTY can carry. opslab = through the WebSocket with acknowledgements in full 32 KiB batches as output
  arrives and the rest after 10 ms of quiet (flow control, screen mirror and recording all active); baseline = the
  raw attach of a container's TTY. One short unmeasured pair first; N=${s.floodRounds} pairs each. The server's
  memory high-water mark is its peak RSS (VmHWM, reset before the first flood) over every flood.`;
}

export function renderMarkdown(r: Results): string {
  const out: string[] = [
    '# opslab benchmarks',
    '',
    `Written by \`npm run bench\` on ${r.date}${r.partial ? ` (a partial run: ${r.sections.join(', ')})` : ''}; the ` +
      `figures are in \`bench/results/${r.date.replace(/:/g, '-')}.json\`. Figures vary between machines and runs; ` +
      'compare the ratios, not the absolutes.',
    '',
    '## Machine',
    '',
    machineText(r),
    '',
    '## Targets',
    '',
    row(['target', 'goal', 'measured', '']),
    row(['---', '---', '---', '---']),
    ...targets(r).map((t) => row([t.what, t.goal, t.measured, yes(t.met)])),
    '',
    '## Results',
    '',
    mainTable(r),
    '',
  ];
  if (r.start) {
    out.push(
      `- Medians of the parts of a start. Warm: the POST answered after ${fmt(r.start.warm.post.p50)} ms, the ` +
        `WebSocket was open after ${fmt(r.start.warm.open.p50)} ms, the prompt complete after ` +
        `${fmt(r.start.warm.prompt.p50)} ms. Cold: ${fmt(r.start.cold.post.p50)}, ${fmt(r.start.cold.open.p50)} and ` +
        `${fmt(r.start.cold.prompt.p50)} ms. "First prompt" is the first shell byte over the WebSocket (the start's ` +
        'repaint, which carries the prompt) or, where that came earlier, the moment the whole prompt had arrived.',
    );
  }
  if (r.flood) {
    out.push(
      `- During the floods the server process used, median, ${fmt(r.flood.yes.serverCpuPercent)}% of one core ` +
        `(\`yes\`) and ${fmt(r.flood.base64.serverCpuPercent)}% (base64). Its RSS was ` +
        `${mib(r.flood.rssBefore)} before them (after a GC), ${mib(r.flood.rssAfter)} after, and at most ` +
        `${mib(r.flood.highWaterMark)} (high-water mark since ${r.flood.highWaterMarkSince}).`,
    );
  }
  out.push('');
  if (r.density) {
    out.push(
      '### Density',
      '',
      `Each level: N attempts connected, each typing ${r.density.keysPerSecond} keystrokes a second for ` +
        `${r.density.seconds} s. Largest N with echo p99 under ${r.density.limitMs} ms: **${r.density.largestN}**` +
        `${r.density.stoppedEarly ? ' (the run stopped after two levels over the limit)' : ''}. Server RSS with no ` +
        `attempt (after a GC): ${mib(r.density.baseline.rss)}. While typing, the server used at most ` +
        `${fmt(Math.max(...r.density.levels.map((l) => l.serverCpuPercent)))}% of one core and the machine was at ` +
        `most ${fmt(Math.max(...r.density.levels.map((l) => l.machineCpuPercent ?? 0)))}% busy.` +
        (r.density.idle
          ? ` With ${r.density.idle.n} idle attempts (measured after typing stopped): server RSS ` +
            `${mib(r.density.idle.rss)}, ${mib(r.density.idle.rssPerAttempt)} RSS and ${mib(r.density.idle.heapPerAttempt)} ` +
            'JS heap per attempt.'
          : '') +
        (r.density.saturation
          ? ` The echo p99 first passed ${r.density.limitMs} ms at N=${r.density.saturation.n}, with the machine ` +
            `${fmt(r.density.saturation.machineCpuPercent)}% busy; the part using the most CPU there: ` +
            `**${r.density.saturation.busiest}** (${PARTS.map((p) => `${p} ${fmt(r.density!.saturation!.cpuByPart[p])}%`).join(', ')} of a core).`
          : ''),
      '',
      densityTable(r.density),
      '',
    );
  }
  if (r.grading) {
    out.push(
      '### Grading',
      '',
      'Median times (ms) of full gradings of a sandbox with the reference answer applied, the phases of the full run ' +
        '(grader start, copy and clean room run at the same time), and a run of one check.',
      '',
      gradingTable(r.grading),
      '',
    );
  }
  if (r.gvisor) out.push('### gVisor', '', gvisorText(r.gvisor), '');
  if (r.database) out.push('### PostgreSQL', '', databaseText(r.database), '');
  if (r.burst) out.push('### Grading burst', '', burstText(r.burst), '');
  if (r.slo) out.push("### latency-slo's SLO measurement", '', sloText(r.slo), '');
  out.push(
    '## How each number is measured',
    '',
    method(r),
    ...(r.gvisor ? [gvisorMethod(r.gvisor)] : []),
    ...(r.database ? [databaseMethod(r.database)] : []),
    ...(r.burst ? [burstMethod(r.burst)] : []),
    ...(r.slo ? [sloMethod(r.slo)] : []),
    '',
  );
  return out.join('\n');
}
