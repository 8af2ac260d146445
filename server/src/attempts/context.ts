import type { Config } from '../config.js';
import type { ExerciseCatalog } from '../exercises/catalog.js';
import type { GradingQueue } from '../grading/queue.js';
import type { Logger } from '../sandbox/notices.js';
import type { JobDriver } from '../sandbox/sandbox-driver.js';
import type { Attempt, AttemptsRepo } from '../store/attempts-repo.js';
import type { GradingRepo } from '../store/grading-repo.js';
import type { LeasesRepo } from '../store/leases-repo.js';
import type { AttemptArtifacts } from './artifacts.js';
import type { DeadlineTimers } from './deadlines.js';
import type { ExerciseRunner } from './exercise-runner.js';
import type { Ownership } from './ownership.js';
import type { PushBus } from '../store/push-bus.js';
import type { AttemptPushes } from './attempt-pushes.js';
import type { TerminalRegistry } from './terminals.js';
import type { AttemptView } from './view.js';
import type { WarmPool } from './warm-pool.js';
import type { EventPublisher } from '../webhooks/events.js';

export type { Logger };

export interface AttemptServiceDeps {
  config: Config;
  repo: AttemptsRepo;
  grading: GradingRepo;
  /** Replicas and the owner of each attempt (a lease), when several servers share the database. */
  leases: LeasesRepo;
  runner: ExerciseRunner;
  driver: JobDriver;
  catalog: ExerciseCatalog;
  log: Logger;
  /** Maps an exercise's image name to the engine's image reference. */
  imageRef: (image: string) => string;
  /** Where the lifecycle's events go (attempt ended, graded): the webhooks subscribe. */
  events?: EventPublisher;
  /** Messages to the replica holding an attempt's terminal (the database's push bus); within this process when left out. */
  push?: PushBus;
}

/** What the parts of the attempt lifecycle share; the attempt service makes it and hands it to each part. */
export interface AttemptContext {
  readonly deps: AttemptServiceDeps;
  readonly terminals: TerminalRegistry;
  /** Markers, countdown updates and closings for an attempt's terminal, wherever it is held. */
  readonly pushes: AttemptPushes;
  readonly deadlines: DeadlineTimers;
  readonly artifacts: AttemptArtifacts;
  readonly warmPool: WarmPool;
  /** Which attempts this replica owns (their shell, deadline and final grading are its own). */
  readonly ownership: Ownership;
  /** Every grading (final, regrade, check run) runs through it (OPSLAB_GRADING_CONCURRENCY). */
  readonly gradingQueue: GradingQueue;
  /** Attempts whose sandbox is being made or replaced (a start, a practice reset): the reconciler leaves them be. */
  readonly provisioning: Set<string>;
  /**
   * Started attempts whose initial snapshot is still being taken (their start answered as soon as the workspace was
   * in place): resolves, never rejects, once it is stored or the attempt failed for want of it. Until then nothing
   * changes the sandbox's files: the shell's input is held, the file routes and an ending wait for it.
   */
  readonly settling: Map<string, Promise<void>>;
  /** Endings in flight: concurrent calls share one; the reconciler leaves their attempts be. */
  readonly ending: Map<string, Promise<Attempt>>;
  view(attempt: Attempt): AttemptView;
}

export function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 300);
}
