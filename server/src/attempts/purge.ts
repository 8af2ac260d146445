import { errors } from '../errors.js';
import type { ExerciseCatalog } from '../exercises/catalog.js';
import type { AttemptsRepo } from '../store/attempts-repo.js';
import { CLOSE_CODES } from '../terminal/attempt-terminal.js';
import type { AttemptContext } from './context.js';

/**
 * Deletes an attempt and everything kept of it: sandbox, recording, snapshots, gradings, reviews, events (and
 * the invite, which holds the candidate's name and email). A running attempt is stopped first, ungraded.
 * `forget` drops what the caller keeps in memory about the attempt.
 */
export async function deleteAttempt(ctx: AttemptContext, id: string, forget: (id: string) => void): Promise<void> {
  const { repo, driver, log } = ctx.deps;
  const attempt = await repo.get(id);
  if (!attempt) throw errors.attemptNotFound();
  if (ctx.provisioning.has(id)) throw errors.attemptBusy();
  await ctx.ending.get(id)?.catch(() => undefined);
  ctx.deadlines.clear(id);
  const terminal = ctx.terminals.take(id);
  terminal?.close({ code: CLOSE_CODES.ended, text: 'This attempt was deleted.' });
  const current = (await repo.get(id)) ?? attempt;
  if (current.sandboxId && current.sandboxStatus !== 'removed') {
    await driver.remove(current.sandboxId).catch((err: Error) =>
      log.warn({ attemptId: id, err: err.message }, 'sandbox removal failed during delete; the reconciler retries'),
    );
  }
  await repo.delete(id);
  ctx.artifacts.remove(current);
  ctx.ownership.forget(id);
  forget(id);
  log.info({ attemptId: id }, 'attempt deleted');
}

const DAY_MS = 86_400_000;

/**
 * The retention purge: interviews (and unused invites) OPSLAB_RETENTION_DAYS after they ended, practice attempts
 * after OPSLAB_PRACTICE_RETENTION_DAYS (never later than interviews; 0: as interviews). Returns the attempts' ids.
 */
export async function purgeByRetention(ctx: AttemptContext, now: number, forget: (id: string) => void): Promise<string[]> {
  const { config, repo } = ctx.deps;
  const days = config.retentionDays;
  const practiceDays = config.practice.retentionDays > 0 ? Math.min(config.practice.retentionDays, days || Infinity) : days;
  const ids: string[] = [];
  if (practiceDays > 0 && practiceDays !== days) {
    for (const id of await repo.endedBefore(now - practiceDays * DAY_MS, 'practice')) {
      await deleteAttempt(ctx, id, forget);
      ids.push(id);
    }
  }
  if (days > 0) ids.push(...(await purgeEndedBefore(ctx, now - days * DAY_MS, forget)));
  if (days > 0 || practiceDays > 0) await pruneExerciseVersions(ctx.deps);
  return ids;
}

/**
 * Retention of exercise versions: removes the stored copies that are not current and that no invite or attempt
 * names any more (their attempts purged or deleted). Nothing can name such a version again: new invites and
 * practice attempts pin the current one. Returns what was removed.
 */
export async function pruneExerciseVersions(deps: {
  catalog: Pick<ExerciseCatalog, 'list' | 'store'>;
  repo: Pick<AttemptsRepo, 'exerciseVersionsInUse'>;
}): Promise<{ id: string; version: string }[]> {
  const store = deps.catalog.store;
  if (!store) return [];
  const key = (id: string, version: string) => `${id}@${version}`;
  const keep = new Set((await deps.repo.exerciseVersionsInUse()).map((v) => key(v.exerciseId, v.version)));
  for (const e of deps.catalog.list()) keep.add(key(e.id, e.version));
  const removed = store.list().filter((v) => !keep.has(key(v.id, v.version)));
  for (const v of removed) store.remove(v.id, v.version);
  return removed;
}

/**
 * Retention: deletes attempts that ended (or failed) before `cutoff` (epoch ms), and invites that expired unused
 * before it; returns the attempts' ids.
 */
export async function purgeEndedBefore(
  ctx: AttemptContext,
  cutoff: number,
  forget: (id: string) => void,
): Promise<string[]> {
  const ids = await ctx.deps.repo.endedBefore(cutoff);
  for (const id of ids) await deleteAttempt(ctx, id, forget);
  await ctx.deps.repo.purgeUnusedInvites(cutoff);
  return ids;
}
