// The price of gVisor: cold start to first prompt and keystroke echo with sandboxes under runsc, against the same
// under runc, two servers side by side, measured in turns (runc, runsc, runc, ...) so that drift on the machine
// affects both alike. Operators choose OPSLAB_SANDBOX_RUNTIME=runsc for stronger isolation; these ratios say what it
// costs where candidates notice it.
import type Docker from 'dockerode';
import { echo, openAttempt } from './client.js';
import type { ServerProcess } from './machine.js';
import { summarize, type Summary } from './stats.js';

export interface GvisorResult {
  /** Why it was not measured (the engine has no runsc runtime), or null. */
  skipped: string | null;
  startRounds: number;
  echoRounds: number;
  runc?: { start: Summary; echo: Summary };
  runsc?: { start: Summary; echo: Summary };
}

export interface GvisorOptions {
  exerciseId: string;
  startRounds: number;
  echoRounds: number;
  echoWarmup: number;
  /** Starts a server under test with these extra settings. */
  server: (env: Record<string, string>) => Promise<ServerProcess>;
  log: (line: string) => void;
}

export async function gvisorSection(docker: Docker, opts: GvisorOptions): Promise<GvisorResult> {
  const base = { startRounds: opts.startRounds, echoRounds: opts.echoRounds };
  const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
  if (!Object.keys(info.Runtimes ?? {}).includes('runsc')) {
    return { ...base, skipped: 'the engine has no runsc runtime (see SECURITY.md, gVisor, to register it)' };
  }
  const servers = {
    runc: await opts.server({ OPSLAB_SANDBOX_RUNTIME: 'runc' }),
    runsc: await opts.server({ OPSLAB_SANDBOX_RUNTIME: 'runsc' }),
  };
  const runtimes = ['runc', 'runsc'] as const;
  try {
    const starts = { runc: [] as number[], runsc: [] as number[] };
    // One unmeasured round first.
    for (let i = -1; i < opts.startRounds; i++) {
      for (const rt of runtimes) {
        const a = await openAttempt(servers[rt].url, opts.exerciseId);
        await a.end();
        if (i >= 0) starts[rt].push(a.ms.prompt);
      }
      if (i >= 0) opts.log(`gvisor start ${i + 1}/${opts.startRounds}: runc ${starts.runc.at(-1)!.toFixed(0)} ms, runsc ${starts.runsc.at(-1)!.toFixed(0)} ms`);
    }
    const attempts = { runc: await openAttempt(servers.runc.url, opts.exerciseId), runsc: await openAttempt(servers.runsc.url, opts.exerciseId) };
    const echoes = { runc: [] as number[], runsc: [] as number[] };
    try {
      const keys = 'abcdefghijklmnopqrstuvwxyz';
      for (let i = -opts.echoWarmup; i < opts.echoRounds; i++) {
        const key = keys[(i + opts.echoWarmup) % keys.length]!;
        for (const rt of runtimes) {
          const ms = await echo(attempts[rt].shell, key);
          if (i >= 0) echoes[rt].push(ms);
        }
      }
      opts.log(`gvisor echo: ${opts.echoRounds} rounds done`);
    } finally {
      await Promise.all(runtimes.map((rt) => attempts[rt].end().catch(() => undefined)));
    }
    return {
      ...base,
      skipped: null,
      runc: { start: summarize(starts.runc), echo: summarize(echoes.runc) },
      runsc: { start: summarize(starts.runsc), echo: summarize(echoes.runsc) },
    };
  } finally {
    await Promise.all(runtimes.map((rt) => servers[rt].stop()));
  }
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The gVisor subsection of bench/RESULTS.md. */
export function gvisorText(g: GvisorResult): string {
  if (g.skipped || !g.runc || !g.runsc) return `Not measured: ${g.skipped ?? 'no result'}.`;
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  return [
    '| measurement | runc p50 | runc p99 | runsc p50 | runsc p99 | runsc / runc p50 | runsc / runc p99 |',
    '| --- | --: | --: | --: | --: | --: | --: |',
    `| cold start → first prompt (ms), N=${g.startRounds} | ${ms(g.runc.start.p50)} | ${ms(g.runc.start.p99)} | ${ms(g.runsc.start.p50)} | ${ms(g.runsc.start.p99)} | ${x(g.runsc.start.p50, g.runc.start.p50)} | ${x(g.runsc.start.p99, g.runc.start.p99)} |`,
    `| keystroke echo (ms), N=${g.echoRounds} | ${ms(g.runc.echo.p50)} | ${ms(g.runc.echo.p99)} | ${ms(g.runsc.echo.p50)} | ${ms(g.runsc.echo.p99)} | ${x(g.runsc.echo.p50, g.runc.echo.p50)} | ${x(g.runsc.echo.p99, g.runc.echo.p99)} |`,
  ].join('\n');
}

/** How the gVisor figures are measured (a bullet of the method section). */
export function gvisorMethod(g: GvisorResult): string {
  return (
    `- **gVisor**: two servers, one with \`OPSLAB_SANDBOX_RUNTIME=runc\` and one with \`runsc\`, everything else equal. ` +
    `Cold starts (no warm pool) to first prompt, one on each in turn after an unmeasured pair, N=${g.startRounds} ` +
    `each; then one attempt on each and keystroke echoes in turn (N=${g.echoRounds} each after a warm-up). The ` +
    'ratios are what the stronger isolation costs on this machine; the runsc runtime registered with the engine ' +
    'decides the platform (ptrace or systrap), which changes them.'
  );
}
