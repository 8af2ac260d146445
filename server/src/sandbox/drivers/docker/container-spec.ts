// What the engine is asked to create: the container options of sandboxes and job containers, built from settings
// alone (no engine call), so the hardening can be read and tested in one place.
import type Docker from 'dockerode';
import { LOG_MAX_SIZE, processLimits } from '../../policy.js';
import { LABELS, ROLES } from '../../labels.js';
import type { JobSpec, ResourceLimits, SandboxSpec } from '../../sandbox-driver.js';

/** The grader image's unprivileged user (graders/Dockerfile). */
export const GRADER_USER = '10001:10001';

/** Open files per process, for sandboxes and jobs alike. */
const NOFILE = { Name: 'nofile', Soft: 4096, Hard: 4096 };

/** The engine's own log of a container (the TTY's copy) is capped, so a flood cannot fill the host disk. */
const LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': LOG_MAX_SIZE, 'max-file': '1' } };

/**
 * A job's CPU weight against a sandbox's (the engine's default, 1024). Under contention the grading's work (checks,
 * and the clean rooms whose latency they measure) runs before the sandboxes' own load, the candidate's included: a
 * busy box cannot slow the measurement of its own answer. Each job stays bounded by its CPU limit.
 */
export const JOB_CPU_SHARES = 4096;

/** Memory (and no swap beyond it), CPU time and the pids cgroup. */
function limitOptions(limits: ResourceLimits, pidsLimit: number) {
  return {
    Memory: limits.memoryMb * 1024 * 1024,
    // Equal to Memory: no swap beyond the memory limit.
    MemorySwap: limits.memoryMb * 1024 * 1024,
    NanoCpus: Math.round(limits.cpus * 1e9),
    PidsLimit: pidsLimit,
  };
}

/**
 * What candidate code runs under: the capabilities sandboxes keep and the operator's runtime (sandboxes, clean
 * rooms, image build steps); or the grader's: every capability dropped, runc.
 */
type Hardening = { capabilities: readonly string[]; runtime: string } | 'grader';

/**
 * The host configuration every container of the platform gets, sandbox or job: the network given, every capability
 * dropped but the kept ones, no-new-privileges, never privileged, memory/CPU/pids limits, open files capped, the
 * engine's log capped, no restart. Under the sandbox hardening also a private cgroup namespace (cgroup v1 engines
 * default to the host's: /proc/self/cgroup would show host paths), the operator's runtime, and the process limit as
 * that runtime enforces it (RLIMIT_NPROC inside gVisor, the pids cgroup a backstop: see policy.ts).
 */
function hardenedHostConfig(o: { networkMode: string; limits: ResourceLimits; hardening: Hardening; init: boolean }) {
  const sandboxLike = o.hardening === 'grader' ? null : o.hardening;
  // The grader always runs under runc, where the pids cgroup is the process limit.
  const processes = sandboxLike ? processLimits(sandboxLike.runtime, o.limits.pids) : { pidsLimit: o.limits.pids, nproc: null };
  return {
    NetworkMode: o.networkMode,
    ...(sandboxLike ? ({ CgroupnsMode: 'private' } as object) : {}),
    CapDrop: ['ALL'],
    ...(sandboxLike ? { CapAdd: [...sandboxLike.capabilities] } : {}),
    // No seccomp option: the engine's default profile applies (never seccomp=unconfined).
    SecurityOpt: ['no-new-privileges:true'],
    Privileged: false,
    ...limitOptions(o.limits, processes.pidsLimit),
    Ulimits: [NOFILE, ...(processes.nproc !== null ? [{ Name: 'nproc', Soft: processes.nproc, Hard: processes.nproc }] : [])],
    LogConfig: LOG_CONFIG,
    Init: o.init,
    RestartPolicy: { Name: 'no' },
    AutoRemove: false,
    ...(sandboxLike && sandboxLike.runtime !== 'runc' ? { Runtime: sandboxLike.runtime } : {}),
  };
}

export interface SandboxContainerSettings {
  /** The container's name; the engine makes one up when it is left out. */
  name?: string;
  image: string;
  /** Added to (and overriding) the terminal's TERM and LANG. */
  env?: Record<string, string>;
  labels: Record<string, string>;
  limits: ResourceLimits;
  /** The OCI runtime (runc, or runsc for gVisor). */
  runtime: string;
  /** The capabilities kept: the allow-list or fewer. */
  capabilities: readonly string[];
}

/** The container name of a sandbox: by pool slot, or by attempt (and generation after a practice reset). */
export function sandboxName(instance: string, spec: SandboxSpec): string {
  if (spec.pool) return `opslab-${instance}-pool-${spec.pool}`;
  return `opslab-${instance}-${spec.attemptId}${spec.generation ? `-${spec.generation}` : ''}`;
}

/** The labels the reconciler finds a sandbox by: managed, this installation's, its attempt (or pool slot), its exercise. */
export function sandboxLabels(instance: string, spec: SandboxSpec, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...extra,
    [LABELS.managed]: 'true',
    [LABELS.instance]: instance,
    ...(spec.pool ? { [LABELS.pool]: spec.pool } : { [LABELS.attempt]: spec.attemptId }),
    [LABELS.exercise]: spec.exerciseId,
    [LABELS.role]: ROLES.sandbox,
  };
}

/** The options a sandbox is created with: a TTY shell, no network, every capability but the kept ones dropped, limits. */
export function sandboxContainerSpec(settings: SandboxContainerSettings): Docker.ContainerCreateOptions {
  const env = { TERM: 'xterm-256color', LANG: 'C.UTF-8', ...settings.env };
  const { limits, runtime } = settings;
  return {
    ...(settings.name !== undefined ? { name: settings.name } : {}),
    Image: settings.image,
    Hostname: 'sandbox',
    Tty: true,
    OpenStdin: true,
    StdinOnce: false,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: settings.labels,
    NetworkDisabled: false,
    // No network at all: the candidate talks to the sandbox only through the engine's API.
    HostConfig: hardenedHostConfig({ networkMode: 'none', limits, hardening: { capabilities: settings.capabilities, runtime }, init: true }),
  };
}

/** The labels of a job container. */
export function jobLabels(instance: string, spec: JobSpec, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...extra,
    ...spec.labels,
    // Deliberately not LABELS.managed: job containers are no attempt's sandbox, so the reconciler leaves them
    // alone while they work; listJobs() finds the ones a dead server left behind.
    [LABELS.instance]: instance,
    [LABELS.role]: spec.role,
    ...(spec.attemptId ? { [LABELS.attempt]: spec.attemptId } : {}),
    ...(spec.exerciseId ? { [LABELS.exercise]: spec.exerciseId } : {}),
  };
}

export interface JobContainerSettings {
  name: string;
  labels: Record<string, string>;
  /** The operator's sandbox runtime, used by jobs with the sandbox hardening. */
  runtime: string;
  /** The capabilities sandboxes keep (the allow-list, or fewer when the operator narrows it): a clean room's too. */
  capabilities: readonly string[];
}

/**
 * The options a job container (grader, clean room) is created with: an idle main process, no network of its own
 * (or the sandbox's loopback), every capability dropped, limits. Under the sandbox hardening (clean rooms, which
 * run the candidate's code) exactly a sandbox's: the capabilities sandboxes keep, the operator's runtime, the
 * process limit as that runtime enforces it (RLIMIT_NPROC inside gVisor), a private cgroup namespace.
 */
export function jobContainerSpec(spec: JobSpec, settings: JobContainerSettings): Docker.ContainerCreateOptions {
  const sandboxHardening = spec.hardening === 'sandbox';
  return {
    name: settings.name,
    Image: spec.image,
    Hostname: spec.joinSandbox ? undefined : spec.role,
    // The main process only idles; the work is done through exec, so output and timeouts are per command.
    Entrypoint: [],
    Cmd: ['sleep', 'infinity'],
    Tty: false,
    OpenStdin: false,
    // The grader runs as its unprivileged user from the first process on (see graders/Dockerfile).
    ...(sandboxHardening ? {} : { User: GRADER_USER }),
    Env: ['LANG=C.UTF-8', 'LC_ALL=C.UTF-8'],
    Labels: settings.labels,
    NetworkDisabled: false,
    // A probe joins the sandbox's network namespace only. Never its process namespace: the candidate is root there
    // (with CAP_KILL) and could signal every grader process; checks get the sandbox's process list from the engine
    // instead (processes()). The grader's only long-lived process is its idle `sleep`; it needs no init.
    HostConfig: {
      ...hardenedHostConfig({
        networkMode: spec.joinSandbox ? `container:${spec.joinSandbox}` : 'none',
        limits: spec.limits,
        hardening: sandboxHardening ? { capabilities: settings.capabilities, runtime: settings.runtime } : 'grader',
        init: sandboxHardening,
      }),
      CpuShares: JOB_CPU_SHARES,
    },
  };
}
