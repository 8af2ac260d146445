import type { SandboxPolicyConfig } from '../config.js';
import type { ResourceLimits } from './sandbox-driver.js';

/**
 * Capabilities a sandbox keeps; everything else is dropped. This is enough for root to own, chmod and kill its
 * own files and processes, switch users and bind low ports, and nothing that touches the kernel or other
 * namespaces: no NET_RAW (raw sockets), NET_ADMIN, SYS_ADMIN (mount), SYS_MODULE, SYS_PTRACE, MKNOD, AUDIT_*.
 */
export const CAPABILITY_ALLOWLIST = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'NET_BIND_SERVICE',
] as const;

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
