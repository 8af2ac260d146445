// The price of gVisor: cold start to first prompt and keystroke echo with sandboxes under runsc, against the same
// under runc, two servers side by side, measured in turns (runc, runsc, runc, ...) so that drift on the machine
// affects both alike. Operators choose OPSLAB_SANDBOX_RUNTIME=runsc for stronger isolation; these ratios say what it
// costs where candidates notice it.
import type Docker from 'dockerode';
import type { ServerProcess } from './machine.js';
import { summarize, type Summary } from './stats.js';
import { echoTurns, pairTable, sideBySide, startTurns } from './turns.js';

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
  const envs = { runc: { OPSLAB_SANDBOX_RUNTIME: 'runc' }, runsc: { OPSLAB_SANDBOX_RUNTIME: 'runsc' } };
  const runtimes = ['runc', 'runsc'] as const;
  return sideBySide(envs, opts.server, async (servers) => {
    const starts = await startTurns(servers, runtimes, opts.exerciseId, opts.startRounds, (i, s) =>
      opts.log(`gvisor start ${i + 1}/${opts.startRounds}: runc ${s.runc.at(-1)!.toFixed(0)} ms, runsc ${s.runsc.at(-1)!.toFixed(0)} ms`),
    );
    const echoes = await echoTurns(servers, runtimes, opts.exerciseId, opts.echoWarmup, opts.echoRounds);
    opts.log(`gvisor echo: ${opts.echoRounds} rounds done`);
    return {
      ...base,
      skipped: null,
      runc: { start: summarize(starts.runc), echo: summarize(echoes.runc) },
      runsc: { start: summarize(starts.runsc), echo: summarize(echoes.runsc) },
    };
  });
}

/** The gVisor subsection of bench/RESULTS.md. */
export function gvisorText(g: GvisorResult): string {
  if (g.skipped || !g.runc || !g.runsc) return `Not measured: ${g.skipped ?? 'no result'}.`;
  return pairTable('runc', 'runsc', [
    { what: `cold start → first prompt (ms), N=${g.startRounds}`, a: g.runc.start, b: g.runsc.start },
    { what: `keystroke echo (ms), N=${g.echoRounds}`, a: g.runc.echo, b: g.runsc.echo },
  ]);
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
