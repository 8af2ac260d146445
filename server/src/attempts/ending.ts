import { errors } from '../errors.js';
import type { Attempt, EndReason } from '../store/attempts-repo.js';
import { CLOSE_CODES } from '../terminal/attempt-terminal.js';
import type { AttemptContext } from './context.js';
import { finalGrade } from './final-grading.js';

/** Ends a running attempt; concurrent calls share one ending. */
export function endAttempt(ctx: AttemptContext, id: string, reason: EndReason): Promise<Attempt> {
  const pending = ctx.ending.get(id);
  if (pending) return pending;
  const promise = doEnd(ctx, id, reason).finally(() => ctx.ending.delete(id));
  ctx.ending.set(id, promise);
  return promise;
}

/** What the candidate's terminal says when it closes at the end. */
function endText(reason: EndReason): string {
  return reason === 'expired'
    ? 'Time is up: the attempt has ended.'
    : reason === 'revoked'
      ? 'This invite was withdrawn: the attempt has ended.'
      : reason === 'preempted'
        ? 'This practice sandbox was stopped to make room for an interview. Start the exercise again later.'
        : 'The attempt was submitted.';
}

async function doEnd(ctx: AttemptContext, id: string, reason: EndReason): Promise<Attempt> {
  const { repo, log } = ctx.deps;
  // A start still storing its initial snapshot finishes first: the final diff compares against it. (Only then is
  // there a wait: otherwise the attempt leaves `running` at once, as concurrent starts making room rely on.)
  const settling = ctx.settling.get(id);
  if (settling) await settling;
  const before = await repo.get(id);
  if (!before) throw errors.attemptNotFound();
  // A withdrawn invite ends its attempt like the clock would: graded as it stands, the reason kept.
  const state = reason === 'revoked' || reason === 'preempted' ? 'expired' : reason;
  const ended = await repo.update(id, { state, endedAt: Date.now(), endReason: reason }, ['running']);
  if (!ended) throw errors.attemptNotRunning(before.state);
  ctx.deadlines.clear(id);
  // The replica that ended the attempt grades and archives it: it takes the attempt from its owner, whose terminal
  // closes when its next renewal finds the attempt gone.
  await ctx.ownership.take(id, { force: true });
  await repo.addEvent(id, reason);
  await ctx.deps.events?.publish({ type: 'attempt.ended', attempt: ended });
  log.info({ attemptId: id, reason }, 'attempt ended');
  const terminal = ctx.terminals.take(id);
  if (terminal) {
    terminal.broadcast({ type: 'attempt', attempt: ctx.view(ended) });
    terminal.close({ code: CLOSE_CODES.ended, text: endText(reason), marker: reason });
  } else {
    ctx.artifacts.appendMarker(ended, reason);
  }
  // A practice sandbox taken back for an interview frees its place at once, ungraded.
  if (reason !== 'preempted') await finalGrade(ctx, ended);
  return (await archive(ctx, ended)) ?? (await repo.get(id))!;
}

/**
 * Waits between removal tries of an ended attempt's sandbox. An engine can refuse a removal for a moment (a kill
 * whose exit event comes late, as with thousands of processes under gVisor): tried again within seconds, so an
 * ended attempt (an abusive one above all) does not keep running until the reconciler's next pass.
 */
export const REMOVAL_RETRY_MS = [1000, 3000];

/** Removes an ended attempt's sandbox. Failures are logged; past the quick retries the reconciler tries again. */
export async function archive(ctx: AttemptContext, attempt: Attempt): Promise<Attempt | undefined> {
  const { repo, driver, log } = ctx.deps;
  for (let tryNo = 0; attempt.sandboxId; tryNo++) {
    try {
      await driver.remove(attempt.sandboxId);
      break;
    } catch (err) {
      const last = tryNo >= REMOVAL_RETRY_MS.length;
      log.error(
        { attemptId: attempt.id, err: (err as Error).message, try: tryNo + 1 },
        last ? 'sandbox removal failed; the reconciler will retry' : 'sandbox removal failed; retrying',
      );
      if (last) return undefined;
      await new Promise((r) => setTimeout(r, REMOVAL_RETRY_MS[tryNo]));
    }
  }
  const archived = await repo.update(attempt.id, { state: 'archived', sandboxStatus: 'removed' }, ['submitted', 'expired']);
  if (archived) (await repo.addEvent(attempt.id, 'archived'));
  ctx.ownership.forget(attempt.id);
  return archived;
}
