import type { SandboxPolicyConfig } from '../config.js';
import type { TerminalSession } from '../terminal/terminal-session.js';
import { effectiveLimits, type LimitOverrides } from './policy.js';
import type { SandboxDriver, SandboxSpec } from './sandbox-driver.js';

/** The sandbox of one exercise: its image (as the exercise names it) and its limits. */
export interface SandboxTemplate {
  id: string;
  image: string;
  limits: LimitOverrides;
}

export interface BringUpPlan {
  exercise: SandboxTemplate;
  /** Whose sandbox it is: the attempt (and which of its sandboxes), or the warm-pool slot. */
  owner: Pick<SandboxSpec, 'attemptId' | 'generation' | 'pool'>;
  /**
   * When the shell is attached: before the start, so that its very first byte is seen (an attempt's terminal and
   * recording); after it; or not at all (nobody uses the shell).
   */
  attach: 'before-start' | 'after-start' | 'no';
  /** Seeds the running sandbox (the exercise's files and setup). */
  setup(sandboxId: string): Promise<void>;
  /** Takes the snapshot of the exercise's files once set up; none is taken without it. */
  snapshot?(sandboxId: string): Promise<Buffer>;
  /** Called as soon as the sandbox exists (whoever owns it removes it if a later step fails). */
  onCreated?(sandboxId: string): void | Promise<void>;
  /** Called with the attached shell, before the next step. */
  onAttached?(session: TerminalSession): void | Promise<void>;
  /** Asked after each step: false gives the bring-up up (it throws BringUpAbandoned). */
  wanted?(): boolean;
}

export interface BringUpSteps {
  driver: SandboxDriver;
  policy: SandboxPolicyConfig;
  /** Maps an exercise's image name to the engine's image reference. */
  imageRef: (image: string) => string;
}

/** The steps of a bring-up, in ms each (for the log), each filled in once it is done. */
export interface BringUpTimings {
  create: number;
  attach: number;
  start: number;
  setup?: number;
  snapshot?: number;
}

/**
 * A sandbox brought up as far as its start: created, started, its shell attached as planned. Setup and the
 * snapshot are under way, one after the other, and the owner awaits them as far as it needs to before it hands the
 * sandbox out. Until `snapshot` (or `setUp`, without one) resolves, the owner lets nothing reach the sandbox
 * (an attempt holds its shell's input and its file routes; the pool offers it to no one). Both reject like a step
 * would (BringUpAbandoned when no longer wanted), and never unhandled.
 */
export interface BroughtUp {
  sandboxId: string;
  session: TerminalSession | null;
  /** Setup, started once the sandbox runs (and its shell is attached). */
  setUp: Promise<void>;
  /** The snapshot of the exercise's files, taken once setup is done; null without `plan.snapshot`. */
  snapshot: Promise<Buffer> | null;
  timings: BringUpTimings;
}

/** Thrown when `wanted()` said no between two steps; the sandbox made so far is the owner's to remove. */
export class BringUpAbandoned extends Error {
  constructor() {
    super('the sandbox was no longer wanted while it was being brought up');
  }
}

/**
 * Brings an exercise's sandbox up, the one sequence every sandbox goes through (an attempt's start, a practice
 * reset, the warm pool, the exercise self-test): create with the hardening policy and the exercise's limits,
 * attach the shell (before or after the start), start, set up, and take the initial snapshot.
 *
 * Every step waits for the one before (the engine does one operation of a container at a time anyway). The
 * bring-up returns once the sandbox runs, with setup and the snapshot under way: each archive call costs the engine
 * a process, and an attempt's start can answer (and its shell print the first prompt) while they are done, since
 * nothing reaches the sandbox before they are (see BroughtUp).
 */
export async function bringUp(steps: BringUpSteps, plan: BringUpPlan): Promise<BroughtUp> {
  const { driver } = steps;
  const { exercise } = plan;
  const checkpoint = () => {
    if (plan.wanted && !plan.wanted()) throw new BringUpAbandoned();
  };
  const timings: BringUpTimings = { create: 0, attach: 0, start: 0 };
  let t = Date.now();
  const lap = (step: 'create' | 'attach' | 'start') => {
    const now = Date.now();
    timings[step] += now - t;
    t = now;
  };
  const sandboxId = await driver.create({
    ...plan.owner,
    exerciseId: exercise.id,
    image: steps.imageRef(exercise.image),
    limits: effectiveLimits(steps.policy, exercise.limits),
  });
  lap('create');
  await plan.onCreated?.(sandboxId);
  checkpoint();
  let session: TerminalSession | null = null;
  const attach = async () => {
    t = Date.now();
    session = await driver.attachTerminal(sandboxId);
    await plan.onAttached?.(session);
    lap('attach');
    checkpoint();
  };
  if (plan.attach === 'before-start') await attach();
  t = Date.now();
  await driver.start(sandboxId);
  lap('start');
  if (plan.attach === 'after-start') await attach();
  const since = (t0: number) => Date.now() - t0;
  const setUp = (async () => {
    const t0 = Date.now();
    await plan.setup(sandboxId);
    timings.setup = since(t0);
    checkpoint();
  })();
  const snapshot = plan.snapshot
    ? setUp.then(async () => {
        const t0 = Date.now();
        const tar = await plan.snapshot!(sandboxId);
        timings.snapshot = since(t0);
        checkpoint();
        return tar;
      })
    : null;
  // Whoever owns the sandbox awaits these; a rejection is theirs to handle, never an unhandled one.
  setUp.catch(() => undefined);
  snapshot?.catch(() => undefined);
  return { sandboxId, session, setUp, snapshot, timings };
}
