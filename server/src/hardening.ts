/**
 * The sandbox hardening settings both the configuration (which reads them) and the sandbox policy (which applies
 * them) use: the capability allow-list and the operator's policy. Imports nothing of the server.
 */

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

export interface SandboxPolicyConfig {
  memoryMb: number;
  cpus: number;
  pids: number;
  /** OCI runtime for sandboxes: runc (the engine default) or a stronger one such as runsc (gVisor). */
  runtime: string;
  /** Upper bounds an exercise may raise its own limits to. */
  maxMemoryMb: number;
  maxCpus: number;
  maxPids: number;
  /** Capabilities sandboxes keep: the allow-list, or fewer (OPSLAB_SANDBOX_CAPABILITIES can only take away). */
  capabilities: string[];
  /** Bytes a sandbox may write to its own filesystem before it is stopped (0: no quota). */
  diskQuotaBytes: number;
  /** How often the disk quota watch samples the running sandboxes. */
  diskIntervalMs: number;
}
