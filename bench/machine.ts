// What the benchmark ran on, how busy the machine was, and the benchmark's server process.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { repoRoot } from '../server/src/paths.js';
import type { ServerMemory, ServerRequest } from './protocol.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  docker: string;
  dockerApi: string;
  storageDriver: string;
  cgroup: string;
  node: string;
  commit: string;
}

export async function describeMachine(docker: Docker): Promise<MachineInfo> {
  const version = await docker.version();
  const info = (await docker.info()) as { Driver?: string; CgroupVersion?: string; OperatingSystem?: string };
  let osName = `${os.type()} ${os.release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (pretty) osName = pretty[1]!;
  } catch {
    /* no os-release */
  }
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    os: osName,
    docker: version.Version,
    dockerApi: version.ApiVersion,
    storageDriver: info.Driver ?? 'unknown',
    cgroup: info.CgroupVersion ? `v${info.CgroupVersion}` : 'unknown',
    node: process.version,
    commit: gitHead(),
  };
}

function gitHead(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8' }).trim();
  try {
    const modified = git('status', '--porcelain', '--', 'server', 'bench') ? ' (server/ or bench/ modified)' : '';
    return `${git('rev-parse', '--short', 'HEAD')}${modified}`;
  } catch {
    return 'unknown';
  }
}

export const loadAverage = (): [number, number, number] => os.loadavg().map((l) => Math.round(l * 100) / 100) as [number, number, number];

/** Busy and total CPU time of the whole machine (all cores), from /proc/stat; null where there is none. */
export function machineCpu(): { busy: number; total: number } | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Percent of all cores busy between two `machineCpu()` readings (100 = every core busy). */
export function busyPercent(a: ReturnType<typeof machineCpu>, b: ReturnType<typeof machineCpu>): number | null {
  if (!a || !b || b.total === a.total) return null;
  return ((b.busy - a.busy) / (b.total - a.total)) * 100;
}

/** The opslab server under test, in its own process (bench/server.ts). */
export class ServerProcess {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (msg: { id?: number; result?: unknown; error?: string }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error));
      else p.resolve(msg.result);
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`the bench server exited (${code})`));
      this.pending.clear();
    });
  }

  static async start(env: Record<string, string>): Promise<ServerProcess> {
    const child = fork(path.join(repoRoot(), 'bench', 'server.ts'), [], {
      cwd: repoRoot(),
      execArgv: ['--import', 'tsx', '--expose-gc'],
      env: { ...process.env, OPSLAB_BENCH_SERVER_ENV: JSON.stringify(env) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      const onMessage = (msg: { ready?: boolean; url?: string }) => {
        if (!msg.ready) return;
        child.off('message', onMessage);
        resolve(msg.url!);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`the bench server exited with ${code} before it listened`)));
    });
    return new ServerProcess(child, url);
  }

  private request<T>(cmd: ServerRequest['cmd']): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd } satisfies ServerRequest);
    });
  }

  /** Memory after a full garbage collection. */
  gc = () => this.request<ServerMemory>('gc');
  memory = () => this.request<ServerMemory>('memory');
  resetHighWaterMark = () => this.request<boolean>('reset-hwm');
  cpu = () => this.request<NodeJS.CpuUsage>('cpu');
  poolReady = () => this.request<boolean>('pool-ready');

  /** Stops the server and removes every sandbox it made. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.request('stop').catch(() => undefined);
    await exited;
  }
}
