import type { Readable } from 'node:stream';
import type { ShellLogEntry, TerminalSession } from '../terminal/terminal-session.js';
import type { ImageBuildResult, ImageBuildSpec } from './image-build-spec.js';
import type { ResourceLimits } from './resource-limits.js';

export type { ResourceLimits, ShellLogEntry };

export interface SandboxSpec {
  attemptId: string;
  exerciseId: string;
  image: string;
  limits: ResourceLimits;
  env?: Record<string, string>;
  /** Which sandbox of the attempt this is (a practice reset makes a new one): 0 for the first. */
  generation?: number;
  /**
   * A warm-pool sandbox, made before any attempt exists: named and labelled by this pool slot, with no attempt label
   * (`attemptId` is ignored). The attempt that claims it records the sandbox's id.
   */
  pool?: string;
}

export type SandboxRunState = 'created' | 'running' | 'exited' | 'other';

/** A further terminal of a running sandbox (see SandboxDriver.execTerminal). */
export interface ExecTerminalOptions {
  /** Which of the attempt's terminals this is ("2"): a new shell of the same name replaces (hangs up) the earlier one. */
  name: string;
  cols: number;
  rows: number;
}

export interface SandboxInfo {
  id: string;
  attemptId: string | null;
  exerciseId: string | null;
  runState: SandboxRunState;
  exitCode: number | null;
  oomKilled: boolean;
  labels: Record<string, string>;
}

export interface ExecOptions {
  /** The exec is abandoned (its stream destroyed) after this long; default 60 s. */
  timeoutMs?: number;
  env?: Record<string, string>;
  /** stdout and stderr each keep this many bytes from their start; default 1 MiB. */
  maxOutputBytes?: number;
  /** ...and this many from their end, a line saying how much was left out between; default 64 KiB. */
  tailBytes?: number;
  /** Past this many bytes of output the exec is abandoned (its stream destroyed); default 64 MiB. */
  maxReadBytes?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout or stderr was longer than what was kept of it. */
  truncated?: boolean;
}

/**
 * An exec abandoned at its time or output limit: the program may still run in the sandbox. Carries what was kept
 * of its output.
 */
export class ExecLimitError extends Error {
  constructor(
    message: string,
    readonly limit: 'timeout' | 'output',
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'ExecLimitError';
  }
}

/** A path inside a sandbox as the engine sees it from outside (nothing runs in the sandbox to learn it). */
export interface PathStat {
  type: 'file' | 'directory' | 'symlink' | 'other';
  /** Permission bits (0o7777). */
  mode: number;
  size: number;
  /** For a link: where it leads, resolved by the engine within the sandbox's filesystem. */
  linkTarget: string | null;
}

/**
 * Where sandboxes live. The Docker implementation is the only one today; test/integration/driver-contract.test.ts
 * holds the cases every implementation must pass. Only driver files talk to the engine.
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
  /**
   * Starts a further shell in the running sandbox (`bash -l` as root on a TTY of its own). Detaching leaves it
   * running but it cannot be attached again: a later call with the same name hangs the earlier shell up and starts
   * a new one. Optional: a driver without it offers one terminal per attempt.
   */
  execTerminal?(id: string, opts: ExecTerminalOptions): Promise<TerminalSession>;
  /**
   * Runs a program of the sandbox (one the candidate may have replaced): its output is capped and its time bounded
   * (see ExecOptions); rejects with an ExecLimitError when a limit is reached first.
   */
  exec(id: string, cmd: string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * What is at `path` (a link itself unless `follow`); null when nothing is, or when the path cannot be resolved
   * (a link loop, a file where a directory should be). Read by the engine, without running anything in the sandbox.
   */
  statPath(id: string, path: string, opts?: { follow?: boolean }): Promise<PathStat | null>;
  /**
   * Creates `path` and its missing parents (root's, 0755) through the engine, without running anything in the
   * sandbox; fails when a part of it exists and is not a directory.
   */
  makeDirs(id: string, path: string): Promise<void>;
  /** Extracts a tar stream into `dir` inside the sandbox. */
  copyIn(id: string, dir: string, tar: Readable): Promise<void>;
  /** A tar stream of `path` inside the sandbox (symlinks stay links). */
  copyOut(id: string, path: string): Promise<Readable>;
  /** Null when the sandbox does not exist. */
  inspect(id: string): Promise<SandboxInfo | null>;
  /**
   * Bytes the sandbox has written to its own writable layer, and whether it runs; null when it does not exist.
   * Optional: a driver without it gets no disk quota watch.
   */
  diskUsage?(id: string): Promise<{ bytes: number; running: boolean } | null>;
  /**
   * What the shell printed since `sinceMs`, from the engine's own log of the sandbox's TTY: recovers output made
   * while no server was attached (a crash, a restart). Optional: without it nothing is recovered.
   */
  shellLog?(id: string, sinceMs: number): Promise<ShellLogEntry[]>;
  /**
   * Calls `listener` with a sandbox's id each time the kernel's OOM killer kills a process in it (any process, not
   * only the shell); returns the function that stops watching. Optional, like diskUsage.
   */
  watchOom?(listener: (sandboxId: string) => void): () => void;
  /** Idempotent: stopping a stopped sandbox is success. */
  stop(id: string, timeoutSeconds?: number): Promise<void>;
  /** Idempotent: removing a missing sandbox is success. */
  remove(id: string): Promise<void>;
  /** Every sandbox this opslab installation manages (by label). */
  listManaged(): Promise<SandboxInfo[]>;
  /** Whether the engine answers. */
  ping(): Promise<boolean>;
}

/** Throwaway containers the platform runs next to a sandbox: the grader and clean-room jobs. */
export type JobRole = 'grader' | 'cleanroom';

export interface JobSpec {
  role: JobRole;
  /** A full image reference, e.g. opslab/grader:latest. */
  image: string;
  limits: ResourceLimits;
  /**
   * 'sandbox': the sandbox hardening policy (the capability allowlist, the operator's runtime). 'grader': every
   * capability dropped, runc. Both: no-new-privileges, no network of their own, memory/pids limits.
   */
  hardening: 'sandbox' | 'grader';
  /**
   * Join this sandbox's network namespace (its loopback), never its process namespace or filesystem: the
   * candidate is root there and could signal or trace anything that shares its processes.
   */
  joinSandbox?: string;
  attemptId?: string;
  exerciseId?: string;
  labels?: Record<string, string>;
  /** false: only create it (files can be copied in before `start`); default true. */
  start?: boolean;
}

export interface JobExecOptions {
  /** user[:group] inside the container; the image's default user (root) when left out. */
  user?: string;
  workdir?: string;
  env?: Record<string, string>;
  /** Backstop: the exec is abandoned (timedOut) after this long. */
  timeoutMs: number;
  /** stdout and stderr are each kept up to this many bytes; the rest is read and dropped. */
  maxOutputBytes: number;
  /**
   * Also keep this many bytes from the end of each stream (beyond the first maxOutputBytes); what lies between is
   * replaced by a line saying how much was left out. The end of a log is where its verdict is.
   */
  tailBytes?: number;
  /** Past this many bytes of output the exec is abandoned (no exit code); none: read and drop until it ends. */
  maxReadBytes?: number;
}

export interface JobExecResult {
  /** Null when the process had not ended when the backstop fired. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** stdout or stderr was longer than what was kept of it. */
  truncated: boolean;
}

/** One process of a sandbox, as the engine sees it from outside (no exec into the sandbox). */
export interface SandboxProcess {
  /** The engine host's process ids: consistent among themselves, not the ids inside the sandbox. */
  pid: number;
  ppid: number;
  uid: number;
  /** ps's STAT column (R, S, Z...). */
  stat: string;
  /** The command line, arguments separated by single spaces. */
  args: string;
  /**
   * Its environment as ps shows it, `NAME=value` each (see drivers/docker/processes.ts for how values are split);
   * absent when it could not be read in full.
   */
  environ?: string[];
}

/** A path of a sandbox that differs from its image (the engine's record of its writable layer). */
export interface SandboxChange {
  path: string;
  kind: 'added' | 'changed' | 'deleted';
}

/** The operations grading needs besides a sandbox's own (implemented by the Docker driver). */
export interface JobDriver extends SandboxDriver {
  /** Creates and (unless spec.start is false) starts a job container (its main process idles); returns its id. */
  createJob(spec: JobSpec): Promise<string>;
  /** Runs a command in a job container (or a sandbox) with a user, a working directory and output caps. */
  execJob(id: string, cmd: string[], opts: JobExecOptions): Promise<JobExecResult>;
  /** Job containers of this installation (left behind when a server died mid-grading), with their age. */
  listJobs(): Promise<{ id: string; role: string; ageSeconds: number }[]>;
  /**
   * The processes of a running sandbox, read by the engine (probe checks get them this way instead of sharing
   * the sandbox's process namespace). An empty list when the sandbox is not running.
   */
  processes(id: string): Promise<SandboxProcess[]>;
  /**
   * The paths of a sandbox that differ from its image, as the engine records them (probe checks get them to tell
   * whether the programs and the interpreter the box runs are the image's). Cut at `maxBytes` of the engine's
   * answer (`truncated`); empty when the sandbox is gone.
   */
  changes(id: string, opts?: { maxBytes?: number; timeoutMs?: number }): Promise<{ changes: SandboxChange[]; truncated: boolean }>;
  /**
   * Builds an image from a parsed Dockerfile step by step, each RUN in a job container with the sandbox hardening
   * and no network (drivers/docker/image-build.ts says how and why). Resolves with the image (tagged
   * `opslab-build/<instance>:<random>`, the caller removes it with removeImage) or with why the build failed; both
   * with the per-step history and the build log. Rejects only when the engine fails. Optional: a driver without it
   * builds nothing.
   */
  buildImage?(spec: ImageBuildSpec): Promise<ImageBuildResult>;
  /** Removes a built image (id or tag); a missing one is success. */
  removeImage?(ref: string): Promise<void>;
  /** Built images of this installation (results and leftovers of a dead server), newest first, with their age. */
  listBuildImages?(): Promise<{ id: string; ageSeconds: number }[]>;
  /**
   * A built image as the engine saves it (`docker save`: a tar holding manifest.json, the image's configuration and
   * one uncompressed tar per layer): grading reads the layers a candidate's Dockerfile made from it. Only an image
   * of this installation's builds (labelled so) is exported; another is refused. Optional, like buildImage.
   */
  exportImage?(ref: string): Promise<Readable>;
  /** The diff ids (`sha256:…`) of an image's layers, base first; null when the engine does not have it. Optional. */
  imageLayers?(ref: string): Promise<string[] | null>;
}
