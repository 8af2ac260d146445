// Servers that differ in one setting, measured side by side in turns (A, B, A, B, ...) so that drift on the machine
// affects each alike: the gVisor and database sections.
import { echo, openAttempt, type OpslabAttempt } from './client.js';
import type { ServerProcess } from './machine.js';
import type { Summary } from './stats.js';

/** What a measurement talks to: a server, or (replicas) one that starts attempts and another that serves their terminals. */
export interface Target {
  url: string;
  /** Terminals (and submits) go here; `url` when absent. */
  terminalUrl?: string;
}

/** Starts one server per entry of `envs` (in order), runs `body`, and stops every server started, also on failure. */
export async function sideBySide<K extends string, T>(
  envs: Record<K, Record<string, string>>,
  start: (env: Record<string, string>) => Promise<ServerProcess>,
  body: (servers: Record<K, ServerProcess>) => Promise<T>,
): Promise<T> {
  const started: ServerProcess[] = [];
  try {
    const servers = {} as Record<K, ServerProcess>;
    for (const name of Object.keys(envs) as K[]) {
      servers[name] = await start(envs[name]);
      started.push(servers[name]);
    }
    return await body(servers);
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}

/**
 * `measure` on each name in turn, round after round: `warmup` unmeasured rounds (round < 0), then `rounds` measured
 * ones. Each name's samples; `after` is told of each measured round.
 */
export async function inTurns<K extends string>(
  names: readonly K[],
  warmup: number,
  rounds: number,
  measure: (name: K, round: number) => Promise<number>,
  after?: (round: number, samples: Record<K, number[]>) => void,
): Promise<Record<K, number[]>> {
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let i = -warmup; i < rounds; i++) {
    for (const name of names) {
      const v = await measure(name, i);
      if (i >= 0) samples[name].push(v);
    }
    if (i >= 0) after?.(i, samples);
  }
  return samples;
}

/** Cold start (no warm pool) to first prompt on each server in turn, after one unmeasured round; each attempt submitted. */
export function startTurns<K extends string>(
  servers: Record<K, Target>,
  names: readonly K[],
  exerciseId: string,
  rounds: number,
  after?: (round: number, samples: Record<K, number[]>) => void,
): Promise<Record<K, number[]>> {
  return inTurns(
    names,
    1,
    rounds,
    async (name) => {
      const a = await openAttempt(servers[name].url, exerciseId, servers[name].terminalUrl);
      await a.end();
      return a.ms.prompt;
    },
    after,
  );
}

/** Keystroke echo on one attempt per server, in turn, after `warmup` unmeasured rounds. */
export async function echoTurns<K extends string>(
  servers: Record<K, Target>,
  names: readonly K[],
  exerciseId: string,
  warmup: number,
  rounds: number,
): Promise<Record<K, number[]>> {
  const attempts: OpslabAttempt[] = [];
  try {
    const byName = {} as Record<K, OpslabAttempt>;
    for (const name of names) {
      byName[name] = await openAttempt(servers[name].url, exerciseId, servers[name].terminalUrl);
      attempts.push(byName[name]);
    }
    const keys = 'abcdefghijklmnopqrstuvwxyz';
    return await inTurns(names, warmup, rounds, (name, i) => echo(byName[name].shell, keys[(i + warmup) % keys.length]!));
  } finally {
    await Promise.all(attempts.map((a) => a.end().catch(() => undefined)));
  }
}

export const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** A table of figures measured on two servers `a` and `b`: p50 and p99 of each, and b's over a's. */
export function pairTable(a: string, b: string, rows: { what: string; a: Summary; b: Summary }[]): string {
  const x = (v: number, w: number) => `${(v / w).toFixed(2)}×`;
  return [
    `| measurement | ${a} p50 | ${a} p99 | ${b} p50 | ${b} p99 | ${b} / ${a} p50 | ${b} / ${a} p99 |`,
    '| --- | --: | --: | --: | --: | --: | --: |',
    ...rows.map(
      (r) =>
        `| ${r.what} | ${ms(r.a.p50)} | ${ms(r.a.p99)} | ${ms(r.b.p50)} | ${ms(r.b.p99)} | ${x(r.b.p50, r.a.p50)} | ${x(r.b.p99, r.a.p99)} |`,
    ),
  ].join('\n');
}
