import { errors } from '../errors.js';
import { bringUp } from '../sandbox/bring-up.js';
import type { Attempt } from '../store/attempts-repo.js';
import { MARKERS } from '../terminal/recorder.js';
import type { AttemptContext } from './context.js';

/**
 * Practice: puts the sandbox back to its initial state (a new container, seeded with the same variant) under the
 * same attempt, clock and recording. The old container is removed.
 */
export async function resetSandbox(ctx: AttemptContext, id: string): Promise<Attempt> {
  const { repo, driver, runner, config, catalog } = ctx.deps;
  const attempt = await repo.get(id);
  if (!attempt) throw errors.attemptNotFound();
  if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
  if (attempt.mode !== 'practice') throw errors.practiceOnly();
  if (ctx.provisioning.has(id) || ctx.ending.has(id)) throw errors.attemptBusy();
  // Seeded again from the version the attempt was started with.
  const exercise = catalog.forAttempt(attempt);
  if (!exercise) throw attempt.exerciseVersion ? errors.exerciseVersionMissing(attempt.exerciseId, attempt.exerciseVersion) : errors.exerciseNotFound(attempt.exerciseId);
  // While the new container is made, the reconciler must not take it (or the old one) for an orphan.
  ctx.provisioning.add(id);
  let sandboxId = null as string | null;
  try {
    const terminal = await ctx.terminals.terminalFor(attempt);
    const generation = (await repo.events(id)).filter((e) => e.kind === 'reset').length + 1;
    const up = await bringUp(
      { driver, policy: config.sandbox, imageRef: ctx.deps.imageRef },
      {
        exercise,
        owner: { attemptId: id, generation },
        attach: 'before-start',
        onCreated: (created) => {
          sandboxId = created;
        },
        onAttached: (session) => {
          terminal.marker(MARKERS.reset);
          terminal.attachSession(session);
        },
        setup: (created) => runner.provision(created, exercise, { params: attempt.params, seed: attempt.seed ?? '' }),
      },
    );
    await up.setUp;
    const updated = await repo.update(id, { sandboxId, sandboxStatus: 'running' }, ['running']);
    if (!updated) throw errors.attemptNotRunning((await repo.get(id))?.state ?? 'gone');
    await repo.addEvent(id, 'reset', { sandboxId });
    if (attempt.sandboxId) await driver.remove(attempt.sandboxId).catch(() => undefined);
    terminal.broadcast({ type: 'attempt', attempt: ctx.view(updated) });
    return updated;
  } catch (err) {
    // The attempt keeps its old sandbox (if any is left); the new one goes.
    if (sandboxId && (await repo.get(id))?.sandboxId !== sandboxId) await driver.remove(sandboxId).catch(() => undefined);
    throw err;
  } finally {
    ctx.provisioning.delete(id);
  }
}

/** Starts the shell again in the same container after it exited; files are kept. */
export async function restartShell(ctx: AttemptContext, id: string): Promise<Attempt> {
  const { repo, driver, runner, log } = ctx.deps;
  const attempt = await repo.get(id);
  if (!attempt) throw errors.attemptNotFound();
  if (attempt.state !== 'running') throw errors.attemptNotRunning(attempt.state);
  if (ctx.provisioning.has(id) || ctx.ending.has(id)) throw errors.attemptBusy();
  // The attempt can end (submit, expiry) during any of the waits below: check again after each, and leave nothing
  // open (no shell attached, no terminal kept) for an attempt that ended meanwhile.
  const stillRunning = async () => {
    const now = await repo.get(id);
    if (!now || now.state !== 'running' || ctx.ending.has(id)) throw errors.attemptNotRunning(now?.state ?? 'gone');
  };
  ctx.provisioning.add(id);
  try {
    const info = attempt.sandboxId ? await driver.inspect(attempt.sandboxId) : null;
    await stillRunning();
    if (!info) {
      await repo.update(id, { sandboxStatus: 'missing' }, ['running']);
      throw errors.sandboxMissing();
    }
    const terminal = await ctx.terminals.terminalFor(attempt);
    await stillRunning();
    if (info.runState === 'running' && terminal.hasShell) throw errors.shellRunning();
    if (info.runState !== 'running') {
      await driver.start(info.id);
      await stillRunning();
      // The container restarted: bring the exercise's services back.
      await runner.boot(info.id).catch((err: Error) =>
        log.warn({ attemptId: id, err: err.message }, 'boot script failed after restart'),
      );
      await stillRunning();
    }
    const session = await driver.attachTerminal(info.id);
    try {
      await stillRunning();
      if (terminal.isClosed) throw errors.attemptNotRunning((await repo.get(id))?.state ?? 'gone');
    } catch (err) {
      session.close();
      throw err;
    }
    terminal.attachSession(session);
    // A fresh shell prints its prompt before we could attach; ask for a new one.
    terminal.input(Buffer.from('\n'));
    terminal.marker(MARKERS.shellRestarted);
    await repo.addEvent(id, 'shell-restarted');
    const updated = await repo.update(id, { sandboxStatus: 'running' }, ['running']);
    if (!updated) throw errors.attemptNotRunning((await repo.get(id))?.state ?? 'gone');
    terminal.broadcast({ type: 'attempt', attempt: ctx.view(updated) });
    return updated;
  } finally {
    ctx.provisioning.delete(id);
  }
}

/** The shell of a running attempt ended: record whether its sandbox still runs, and tell the browser. */
export async function onShellExit(ctx: AttemptContext, id: string): Promise<void> {
  const { repo, driver, log } = ctx.deps;
  const attempt = await repo.get(id);
  if (!attempt || attempt.state !== 'running' || !attempt.sandboxId) return;
  let info;
  try {
    info = await driver.inspect(attempt.sandboxId);
  } catch (err) {
    // The engine does not answer (it is restarting): that says nothing about the sandbox, which with
    // live-restore keeps running. The reconciler attaches the shell again once the engine is back.
    log.warn({ attemptId: id, err: (err as Error).message }, 'shell connection lost and the engine does not answer');
    return;
  }
  const status = info ? (info.runState === 'running' ? 'running' : 'exited') : 'missing';
  const updated = await repo.update(id, { sandboxStatus: status }, ['running']);
  await repo.addEvent(id, 'shell-exited', { exitCode: info?.exitCode ?? null, oomKilled: info?.oomKilled ?? false });
  log.info({ attemptId: id, status, exitCode: info?.exitCode, oomKilled: info?.oomKilled }, 'shell exited');
  if (updated) ctx.terminals.get(id)?.broadcast({ type: 'attempt', attempt: ctx.view(updated) });
}
