import { errors } from '../errors.js';
import { evidencePaths } from '../exercises/catalog.js';
import { drawVariant, newSeed } from '../exercises/variants.js';
import { bringUp, type BroughtUp } from '../sandbox/bring-up.js';
import type { Attempt } from '../store/attempts-repo.js';
import { CLOSE_CODES, type AttemptTerminal } from '../terminal/attempt-terminal.js';
import { MARKERS } from '../terminal/recorder.js';
import { CAPACITY_RETRY_AFTER_SECONDS, makeRoom } from './capacity.js';
import { firstLine, type AttemptContext } from './context.js';
import { hashToken, newAttemptId, newAttemptToken } from './tokens.js';
import type { PooledSandbox } from './warm-pool.js';

export interface StartOptions {
  /** Overrides the exercise's time limit (invites set it). */
  timeLimitSeconds?: number;
  mode?: Attempt['mode'];
  inviteId?: string;
  /** Whether the candidate may run checks and reveal hints (default true). */
  feedback?: boolean;
  /** The access token to use (an invite's token doubles as its attempt's token); a new one by default. */
  token?: string;
  /** Practice: the hash of the trainee's practice token. */
  ownerHash?: string;
  /** Called once the attempt row exists, before provisioning (an invite links to it at once). */
  onCreated?: (attemptId: string) => void | Promise<void>;
  /** The exercise version to provision (an invite's, pinned when it was made); the current one by default. */
  exerciseVersion?: string | null;
}

/** Starts an attempt: provisions its sandbox (or claims a pooled one), attaches the shell and starts the clock. */
export async function startAttempt(
  ctx: AttemptContext,
  exerciseId: string,
  opts: StartOptions,
): Promise<{ attempt: Attempt; token: string }> {
  const { repo, driver, catalog, runner, config, log } = ctx.deps;
  const { warmPool, terminals, artifacts } = ctx;
  const current = catalog.get(exerciseId);
  // A pinned version is provisioned from its stored copy, never from another version.
  const exercise = opts.exerciseVersion ? catalog.at(exerciseId, opts.exerciseVersion) : current;
  if (!exercise) {
    if (opts.exerciseVersion) throw errors.exerciseVersionMissing(exerciseId, opts.exerciseVersion);
    throw errors.exerciseNotFound(exerciseId);
  }
  const mode = opts.mode ?? 'practice';
  // No room left in the data directory for what this attempt will keep: refused before anything is made.
  await artifacts.budget.assertRoom(mode);
  // A sandbox from the warm pool, if one is ready: taken now, so no other start can have it. The pool prepares the
  // current version only.
  const pooled = exercise === current ? warmPool.take(exerciseId) : null;
  try {
    await makeRoom(ctx, mode);
  } catch (err) {
    if (pooled) warmPool.putBack(pooled);
    throw err;
  }

  const timeLimitSeconds = opts.timeLimitSeconds ?? exercise.timeLimitMinutes * 60;
  // A pooled sandbox was set up with its own freshly drawn seed, which becomes this attempt's (see warm-pool.ts).
  const seed = pooled?.seed ?? newSeed();
  const params = pooled?.params ?? drawVariant(exercise.variants, seed);
  const id = newAttemptId();
  const token = opts.token ?? newAttemptToken();
  const now = Date.now();
  const { ownership, gradingQueue } = ctx;
  // The admission itself: counted and written in one exclusive transaction, whatever the number of replicas.
  const admitted = await repo.insertAdmitted({
    id,
    exerciseId,
    state: 'created',
    tokenHash: hashToken(token),
    timeLimitSeconds,
    createdAt: now,
    startedAt: null,
    deadline: null,
    endedAt: null,
    endReason: null,
    sandboxId: pooled?.sandboxId ?? null,
    sandboxStatus: 'provisioning',
    recordingPath: artifacts.recordingPath(id),
    failure: null,
    seed,
    params,
    hintsRevealed: 0,
    mode,
    inviteId: opts.inviteId ?? null,
    feedback: opts.feedback ?? true,
    ownerHash: opts.ownerHash ?? null,
    exerciseVersion: exercise.version,
  }, {
    owner: ownership.id,
    leaseUntil: ownership.leaseUntil(now),
    limit: config.maxSandboxes,
    modeLimit: mode === 'practice' ? config.practice.maxSandboxes : null,
    reserved: warmPool.size + gradingQueue.containers,
    liveSince: ownership.liveSince(now),
  });
  if (!admitted) {
    if (pooled) warmPool.putBack(pooled);
    throw errors.capacity(CAPACITY_RETRY_AFTER_SECONDS);
  }
  ownership.hold(id, 1);
  ctx.provisioning.add(id);
  let sandboxId = (pooled?.sandboxId ?? null) as string | null;
  let terminal = null as AttemptTerminal | null;
  /** The start answered with its snapshot still being taken: `settle` ends the provisioning. */
  let answered = false;
  try {
    await opts.onCreated?.(id);
    if (pooled) {
      const running = await claim(ctx, id, pooled, timeLimitSeconds);
      log.info({ attemptId: id, exerciseId, sandboxId, ms: Date.now() - now, pooled: true }, 'attempt started');
      return { attempt: running, token };
    }
    let startedAt = 0;
    const up = await bringUp(
      { driver, policy: config.sandbox, imageRef: ctx.deps.imageRef },
      {
        exercise,
        owner: { attemptId: id },
        attach: 'before-start',
        onCreated: async (created) => {
          sandboxId = created;
          await repo.update(id, { sandboxId });
        },
        onAttached: async (session) => {
          startedAt = Date.now();
          terminal = await terminals.open({ ...(await repo.get(id))!, startedAt });
          // Attached before start, so the very first prompt byte is recorded.
          terminal.attachSession(session);
          terminal.marker(MARKERS.started);
        },
        setup: (created) => runner.provision(created, exercise, { params, seed }),
        snapshot: (created) => runner.snapshot(created, evidencePaths(exercise)),
      },
    );
    // A setup script is waited for: its failure (with its output) is the start's answer, and its time is not the
    // candidate's. The exercise's files alone (an archive call each way) are not: see below.
    if (exercise.hasSetup) await up.setUp;
    // The clock starts once the sandbox is ready, not while it is being seeded.
    const readyAt = Date.now();
    const running = await repo.update(
      id,
      {
        state: 'running',
        startedAt,
        deadline: readyAt + timeLimitSeconds * 1000,
        // Until the initial snapshot is stored (settle): a server that dies meanwhile leaves the attempt to the
        // reconciler as an interrupted start.
        sandboxStatus: 'provisioning',
      },
      ['created'],
    );
    if (!running) throw new Error('the attempt changed state while its sandbox was starting');
    await repo.addEvent(id, 'started', { sandboxId });
    ctx.deadlines.arm(running);
    // The exercise's files are copied in (without a setup script) and the initial snapshot read while the start
    // answers and the shell prints its first prompt: the engine does one operation of a container at a time, each
    // archive call costing it a process, and they would otherwise come before both. Until the snapshot is stored
    // nothing reaches the sandbox: the shell's input is held, the attempt's other routes and an ending wait for
    // ctx.settling, and the reconciler leaves a provisioning attempt be.
    const settled = settle(ctx, id, up, terminal!);
    ctx.settling.set(id, settled);
    terminal!.holdInput(settled);
    answered = true;
    log.info({ attemptId: id, exerciseId, sandboxId, ms: Date.now() - now, steps: up.timings }, 'attempt started');
    return { attempt: running, token };
  } catch (err) {
    const message = (err as Error).message;
    // (A claim opens its terminal itself.)
    const registered = terminals.take(id);
    await failStart(ctx, id, message, { terminal: terminal ?? registered ?? null, sandboxId, from: 'created' });
    if (pooled) warmPool.forget(pooled);
    throw errors.sandboxFailed(firstLine(message));
  } finally {
    if (!answered) ctx.provisioning.delete(id);
  }
}

/**
 * Stores the initial snapshot once the files are in place and it is taken; if either fails, the attempt fails as a
 * start that could not complete (its terminal closed with the reason, its sandbox removed). Never rejects.
 */
async function settle(ctx: AttemptContext, id: string, up: BroughtUp, terminal: AttemptTerminal): Promise<void> {
  try {
    ctx.artifacts.saveSnapshot(id, 'initial', await up.snapshot!);
    const { repo } = ctx.deps;
    // (Unless the shell exited meanwhile, which said so.)
    const ready = (await repo.get(id))?.sandboxStatus === 'provisioning' ? (await repo.update(id, { sandboxStatus: 'running' }, ['running'])) : undefined;
    if (ready) terminal.broadcast({ type: 'attempt', attempt: ctx.view(ready) });
    ctx.deps.log.info({ attemptId: id, steps: up.timings }, 'attempt provisioned');
  } catch (err) {
    ctx.deadlines.clear(id);
    if (ctx.terminals.get(id) === terminal) ctx.terminals.take(id);
    await failStart(ctx, id, (err as Error).message, {
      terminal,
      sandboxId: (await ctx.deps.repo.get(id))?.sandboxId ?? null,
      from: 'running',
    });
  } finally {
    ctx.provisioning.delete(id);
    ctx.settling.delete(id);
  }
}

/** A start that could not complete: logged, its terminal closed with the reason, the attempt failed, its sandbox removed. */
async function failStart(
  ctx: AttemptContext,
  id: string,
  message: string,
  made: { terminal: AttemptTerminal | null; sandboxId: string | null; from: 'created' | 'running' },
): Promise<void> {
  const { repo, driver, log } = ctx.deps;
  const attempt = await repo.get(id);
  log.error({ attemptId: id, exerciseId: attempt?.exerciseId, err: message }, 'sandbox could not be started');
  made.terminal?.close({ code: CLOSE_CODES.ended, text: 'The sandbox could not be started.' });
  const failed = await repo.update(id, { state: 'failed', failure: message, sandboxStatus: 'removed' }, [made.from]);
  if (failed || made.from === 'created') (await repo.addEvent(id, 'failed', { error: message }));
  if (made.sandboxId) await driver.remove(made.sandboxId).catch(() => undefined);
  ctx.ownership.forget(id);
}

/**
 * Makes a pooled sandbox (already running and set up) the attempt's: its own recording and terminal from now on,
 * a fresh prompt in them, the initial snapshot taken after setup, and the clock.
 */
async function claim(ctx: AttemptContext, id: string, pooled: PooledSandbox, timeLimitSeconds: number): Promise<Attempt> {
  const { repo } = ctx.deps;
  const startedAt = Date.now();
  const terminal = await ctx.terminals.open({ ...(await repo.get(id))!, startedAt });
  terminal.marker(MARKERS.started);
  terminal.attachSession(ctx.warmPool.handOver(pooled));
  // The shell has waited at its prompt since the pool started it, and what it printed then was not this attempt's:
  // Ctrl-L makes it clear the screen and print the prompt again, into this attempt's screen and recording.
  terminal.input(Buffer.from('\x0c'));
  ctx.artifacts.saveSnapshot(id, 'initial', pooled.snapshot);
  const running = await repo.update(
    id,
    { state: 'running', startedAt, deadline: startedAt + timeLimitSeconds * 1000, sandboxStatus: 'running' },
    ['created'],
  );
  if (!running) throw new Error('the attempt changed state while its sandbox was being claimed');
  await repo.addEvent(id, 'started', { sandboxId: pooled.sandboxId, pooled: true });
  ctx.deadlines.arm(running);
  return running;
}
