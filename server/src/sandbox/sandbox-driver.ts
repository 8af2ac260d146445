import type { Readable } from 'node:stream';
import type { TerminalSession } from '../terminal/terminal-session.js';

export interface ResourceLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
}

export interface SandboxSpec {
  attemptId: string;
  exerciseId: string;
  image: string;
  limits: ResourceLimits;
  env?: Record<string, string>;
}

export type SandboxRunState = 'created' | 'running' | 'exited' | 'other';

export interface SandboxInfo {
  id: string;
  attemptId: string | null;
  exerciseId: string | null;
  runState: SandboxRunState;
  exitCode: number | null;
  oomKilled: boolean;
  labels: Record<string, string>;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Where sandboxes live. The Docker implementation is the only one today; a Kubernetes one can follow. Only
 * driver files talk to the engine.
 */
export interface SandboxDriver {
  /** Creates the sandbox (not started) with the platform's hardening policy; returns its id. */
  create(spec: SandboxSpec): Promise<string>;
  start(id: string): Promise<void>;
  /**
   * Attaches to the sandbox's main TTY process (the shell). Attach before `start` to see the first byte.
   * Detaching leaves the shell running; a later attach continues the same shell.
   */
  attachTerminal(id: string): Promise<TerminalSession>;
  exec(id: string, cmd: string[], opts?: { timeoutMs?: number; env?: Record<string, string> }): Promise<ExecResult>;
  /** Extracts a tar stream into `dir` inside the sandbox. */
  copyIn(id: string, dir: string, tar: Readable): Promise<void>;
  /** A tar stream of `path` inside the sandbox (symlinks stay links). */
  copyOut(id: string, path: string): Promise<Readable>;
  /** Null when the sandbox does not exist. */
  inspect(id: string): Promise<SandboxInfo | null>;
  /** Idempotent: stopping a stopped sandbox is success. */
  stop(id: string, timeoutSeconds?: number): Promise<void>;
  /** Idempotent: removing a missing sandbox is success. */
  remove(id: string): Promise<void>;
  /** Every sandbox this opslab installation manages (by label). */
  listManaged(): Promise<SandboxInfo[]>;
  /** Whether the engine answers. */
  ping(): Promise<boolean>;
}
