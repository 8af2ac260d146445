// Attempts changing replica: where an attempt's terminal is served (here, or at its owner's address, taking over an
// attempt whose owner died), and what this replica lets go of when another one took its attempts.
import { CLOSE_CODES } from '../../../contract/terminal.js';
import { errors } from '../errors.js';
import type { AttemptContext } from './context.js';

/**
 * Where the attempt's terminal is served: here, or at the replica that owns it (its address). An attempt nobody
 * owns now (its owner died) is taken over here.
 */
export async function terminalHome(ctx: AttemptContext, attemptId: string): Promise<{ here: true } | { here: false; address: string }> {
  const { ownership } = ctx;
  const where = await ownership.whereabouts(attemptId);
  if (where.here || where.address !== null) return where;
  if (await ownership.take(attemptId)) {
    await ctx.deps.repo.addEvent(attemptId, 'taken-over', { replica: ownership.id });
    return { here: true };
  }
  // Taken by another replica in the meantime.
  const again = await ownership.whereabouts(attemptId);
  if (again.here || again.address !== null) return again;
  throw errors.attemptBusy();
}

/**
 * Attempts another replica took from this one (this one was silent past the lease: paused, cut off) or that ended
 * elsewhere: their terminals here close (a browser reconnects to the new owner), their timers stop.
 */
export function letGo(ctx: AttemptContext, ids: string[]): void {
  const { log, repo } = ctx.deps;
  for (const id of ids) {
    ctx.deadlines.clear(id);
    const terminal = ctx.terminals.take(id);
    if (!terminal) continue;
    // Ended through another replica: the browser hears that it ended; otherwise it reconnects to the new owner.
    void repo
      .get(id)
      .catch(() => undefined)
      .then((now) => {
        if (now && now.state !== 'running') {
          terminal.close({ code: CLOSE_CODES.ended, text: 'The attempt has ended.' });
          log.info({ attemptId: id }, 'the attempt was ended through another replica');
        } else {
          terminal.close({ code: CLOSE_CODES.restarting, text: 'This attempt moved to another server; reconnecting…' });
          log.warn({ attemptId: id }, 'another replica owns this attempt now');
        }
      });
  }
}
