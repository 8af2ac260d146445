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
  /** Seeds the running sandbox (the exercise's setup). */
  setup(sandboxId: string): Promise<void>;
  /**
   * Takes the snapshot of the exercise's files once set up; none is taken without it. The bring-up returns as soon as
   * the snapshot is under way (`BroughtUp.snapshot`): until it resolves, the owner lets nothing else change the
   * sandbox's files (an attempt holds its shell's input and its file routes; the pool offers nothing).
   */
  snapshot?(sandboxId: string): Promise<Buffer>;
  /** Called as soon as the sandbox exists (whoever owns it removes it if a later step fails). */
  onCreated?(sandboxId: string): void;
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

/** The steps of a bring-up, in ms each (for the start's log line). */
export interface BringUpTimings {
  create: number;
  attach: number;
  start: number;
  setup: number;
}

export interface BroughtUp {
  sandboxId: string;
  session: TerminalSession | null;
  /**
   * The snapshot of the exercise's files, taken from the moment setup was done; null without `plan.snapshot`.
   * Rejects with BringUpAbandoned when the sandbox was no longer wanted once it was taken. Always awaited (or
   * caught) by the owner; it never rejects unhandled.
   */
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
 * Every step waits for the one before (the engine serialises a container's operations anyway), except the
 * snapshot: it starts once setup is done, and the bring-up returns without waiting for it, so that an attempt's
 * start can answer while the engine reads the files and the shell prints its first prompt.
 */
export async function bringUp(steps: BringUpSteps, plan: BringUpPlan): Promise<BroughtUp> {
  const { driver } = steps;
  const { exercise } = plan;
  const checkpoint = () => {
    if (plan.wanted && !plan.wanted()) throw new BringUpAbandoned();
  };
  const timings: BringUpTimings = { create: 0, attach: 0, start: 0, setup: 0 };
  let t = Date.now();
  const lap = (step: keyof BringUpTimings) => {
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
  plan.onCreated?.(sandboxId);
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
  t = Date.now();
  await plan.setup(sandboxId);
  lap('setup');
  checkpoint();
  let snapshot: Promise<Buffer> | null = null;
  if (plan.snapshot) {
    snapshot = plan.snapshot(sandboxId).then((tar) => {
      checkpoint();
      return tar;
    });
    // Whoever owns the sandbox awaits it; a rejection is theirs to handle, never an unhandled one.
    snapshot.catch(() => undefined);
  }
  return { sandboxId, session, snapshot, timings };
}
