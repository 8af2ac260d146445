// What a density level costs the whole machine, part by part: CPU time and proportional memory (PSS) of the opslab
// server, the engine (dockerd), containerd with its shims, the sandboxes' own processes and the benchmark's clients,
// read from /proc; the machine's memory in use; and the file descriptors of the server and the engine against
// their limits. Linux only: elsewhere every figure is null.
import fs from 'node:fs';
import os from 'node:os';

export const PARTS = ['server', 'dockerd', 'containerd', 'sandboxes', 'bench', 'other'] as const;
export type Part = (typeof PARTS)[number];

interface ProcSample {
  /** utime + stime in clock ticks, per part. */
  ticks: Record<Part, number>;
  at: number;
}

/** Clock ticks per second (USER_HZ): 100 on every Linux the project runs on. */
const HZ = 100;

const zero = (): Record<Part, number> => ({ server: 0, dockerd: 0, containerd: 0, sandboxes: 0, bench: 0, other: 0 });

function pids(): number[] {
  try {
    return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
}

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Which part a process belongs to: by pid for the server and the benchmark, by name for the engine, by cgroup for sandboxes. */
function partOf(pid: number, comm: string, serverPid: number): Part {
  if (pid === serverPid) return 'server';
  if (pid === process.pid) return 'bench';
  if (comm === 'dockerd') return 'dockerd';
  if (comm.startsWith('containerd')) return 'containerd';
  const cgroup = read(`/proc/${pid}/cgroup`) ?? '';
  if (/\/docker[/-]|docker-[0-9a-f]{12,}\.scope/.test(cgroup)) return 'sandboxes';
  return 'other';
}

/** `comm` and utime + stime from /proc/<pid>/stat (the name is in parentheses and may hold spaces). */
function stat(pid: number): { comm: string; ticks: number } | null {
  const text = read(`/proc/${pid}/stat`);
  if (!text) return null;
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // Fields after the name start at field 3 (state): utime is field 14, stime field 15.
  return { comm: text.slice(open + 1, close), ticks: Number(fields[11]) + Number(fields[12]) };
}

export function sampleCpu(serverPid: number): ProcSample {
  const ticks = zero();
  for (const pid of pids()) {
    const s = stat(pid);
    if (s) ticks[partOf(pid, s.comm, serverPid)] += s.ticks;
  }
  return { ticks, at: Date.now() };
}

/**
 * CPU of each part between two samples, in % of one core. A process that ended between them is not counted (its
 * time is gone from /proc), so short-lived processes are undercounted; the machine's busy share from /proc/stat
 * counts everything.
 */
export function cpuBetween(a: ProcSample, b: ProcSample): Record<Part, number> {
  const seconds = (b.at - a.at) / 1000;
  const out = zero();
  for (const part of PARTS) out[part] = seconds > 0 ? (Math.max(0, b.ticks[part] - a.ticks[part]) / HZ / seconds) * 100 : 0;
  return out;
}

export interface MemorySample {
  /** Proportional set size per part (bytes): shared pages divided among the processes sharing them. */
  pss: Record<Part, number>;
  /** MemTotal − MemAvailable (bytes): everything in use on the machine, page cache that can be dropped excluded. */
  machineUsed: number;
}

export function sampleMemory(serverPid: number): MemorySample {
  const pss = zero();
  for (const pid of pids()) {
    const s = stat(pid);
    if (!s) continue;
    const rollup = read(`/proc/${pid}/smaps_rollup`);
    const kib = rollup ? Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) : 0;
    pss[partOf(pid, s.comm, serverPid)] += kib * 1024;
  }
  const meminfo = read('/proc/meminfo') ?? '';
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1] ?? 0) * 1024;
  const machineUsed = meminfo ? field('MemTotal') - field('MemAvailable') : os.totalmem() - os.freemem();
  return { pss, machineUsed };
}

export interface Descriptors {
  server: number | null;
  serverLimit: number | null;
  dockerd: number | null;
  dockerdLimit: number | null;
}

function fdCount(pid: number): number | null {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function fdLimit(pid: number): number | null {
  const limits = read(`/proc/${pid}/limits`);
  const m = limits ? /^Max open files\s+(\d+|unlimited)/m.exec(limits) : null;
  return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : null;
}

export function descriptors(serverPid: number): Descriptors {
  const dockerd = pids().find((pid) => stat(pid)?.comm === 'dockerd');
  return {
    server: fdCount(serverPid),
    serverLimit: fdLimit(serverPid),
    dockerd: dockerd === undefined ? null : fdCount(dockerd),
    dockerdLimit: dockerd === undefined ? null : fdLimit(dockerd),
  };
}

/** The part that used the most CPU at a level (what saturates first when the echo passes its limit). */
export function busiest(cpu: Record<Part, number>): Part {
  return PARTS.reduce((best, part) => (cpu[part] > cpu[best] ? part : best), PARTS[0]);
}
