import type { SandboxPolicyConfig } from '../hardening.js';
import type { ResourceLimits } from './sandbox-driver.js';

/** The capabilities a sandbox keeps (hardening.ts says why these). */
export { CAPABILITY_ALLOWLIST } from '../hardening.js';

/** Container log (the TTY's copy kept by the engine) size cap, so a flood cannot fill the host disk. */
export const LOG_MAX_SIZE = '1m';

export interface LimitOverrides {
  memoryMb?: number | undefined;
  cpus?: number | undefined;
  pids?: number | undefined;
}

/**
 * The limits for one sandbox: the platform defaults, raised or lowered by what the exercise declares, never
 * above the operator's maxima.
 */
export function effectiveLimits(policy: SandboxPolicyConfig, overrides: LimitOverrides = {}): ResourceLimits {
  return {
    memoryMb: Math.min(overrides.memoryMb ?? policy.memoryMb, policy.maxMemoryMb),
    cpus: Math.min(overrides.cpus ?? policy.cpus, policy.maxCpus),
    pids: Math.min(overrides.pids ?? policy.pids, policy.maxPids),
  };
}

/** Whether an OCI runtime name is gVisor's (runsc, or a variant registered under a name that says so). */
export function isGvisor(runtime: string): boolean {
  return /runsc|gvisor/i.test(runtime);
}

/**
 * Host tasks a gVisor sandbox needs besides its guests' processes: the Sentry's and the Gofer's own threads
 * (about 40 when idle, measured here with the ptrace platform).
 */
export const GVISOR_BASE_TASKS = 64;
/**
 * Host tasks per guest process under gVisor's ptrace platform (a stub process and tracer threads; about 10 measured
 * here, so 16 leaves room).
 */
export const GVISOR_TASKS_PER_PROCESS = 16;

/**
 * How the process limit is enforced for a runtime.
 *
 * runc: the container's pids cgroup is the limit (`pidsLimit` = pids), and it counts exactly the sandbox's
 * processes and threads.
 *
 * gVisor: the pids cgroup holds the Sentry (the user-space kernel) and its helper tasks, not the guest's processes,
 * and a Sentry that cannot make a thread dies with the whole sandbox. So the guest's processes are limited inside
 * the Sentry by RLIMIT_NPROC (`nproc` = pids; gVisor enforces it per sandbox, also for root), and the cgroup is a
 * backstop sized for the Sentry's overhead. RLIMIT_NPROC is not used under runc: there it counts every process of
 * that uid on the host and root is exempt.
 */
export function processLimits(runtime: string, pids: number): { pidsLimit: number; nproc: number | null } {
  if (!isGvisor(runtime)) return { pidsLimit: pids, nproc: null };
  return { pidsLimit: GVISOR_BASE_TASKS + pids * GVISOR_TASKS_PER_PROCESS, nproc: pids };
}
