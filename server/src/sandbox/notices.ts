import type { Attempt } from '../store/attempts-repo.js';

/** The server's log as the services use it (pino's shape). */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A notice shown in an attempt's terminal (docs/api.md: `notice`). */
export interface SandboxNotice {
  level: 'warn' | 'error';
  code: string;
  message: string;
}

/**
 * How the watches over running sandboxes (disk quota, out of memory) tell an attempt's candidate what happened to
 * the sandbox. The attempts layer implements it; the watches know nothing of terminals or recordings.
 */
export interface AttemptNotices {
  /**
   * Whether this server looks after the attempt (with several replicas, its owner does): the watches leave the others
   * to their owners, so that a sandbox is stopped and its candidate told once.
   */
  owns(attemptId: string): boolean;
  /** Writes `marker` into the attempt's recording and shows `notice` in its terminal (opening it if needed). */
  notify(attempt: Attempt, marker: string, notice: SandboxNotice): Promise<void>;
}
