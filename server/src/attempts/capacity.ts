import { errors } from '../errors.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { AttemptContext } from './context.js';
import { endAttempt } from './ending.js';

export const CAPACITY_RETRY_AFTER_SECONDS = 30;

/**
 * Capacity: practice may hold at most its share of the sandboxes. An interview may use every one, and when the
 * machine is full it takes the place of the practice attempt that started first (interviews come first). Warm-pool
 * sandboxes count against the same limit and are the first to go when it is reached (a sandbox this start took
 * from the pool has already left the pool's count), and so do the containers of the gradings running (their grader
 * and clean room).
 */
export async function makeRoom(ctx: AttemptContext, mode: Attempt['mode']): Promise<void> {
  const { repo, config, log } = ctx.deps;
  const { warmPool } = ctx;
  // Grader and clean-room containers of the gradings running count too.
  const full = async () => (await repo.countHoldingSandbox()) + warmPool.size + ctx.gradingQueue.containers >= config.maxSandboxes;
  if (mode === 'practice' && (await repo.countHoldingSandbox('practice')) >= config.practice.maxSandboxes) {
    throw errors.capacity(CAPACITY_RETRY_AFTER_SECONDS);
  }
  while ((await full()) && (await warmPool.evictOne())) {
    /* one pooled sandbox fewer per round */
  }
  if (!(await full())) return;
  if (mode === 'practice') throw errors.capacity(CAPACITY_RETRY_AFTER_SECONDS);
  // Not one another start is already ending: concurrent starts each take a place of their own back.
  const victim = await repo.oldestRunningPractice(new Set(ctx.ending.keys()));
  if (!victim) throw errors.capacity(CAPACITY_RETRY_AFTER_SECONDS);
  log.info({ attemptId: victim.id }, 'stopping a practice attempt to make room for an interview');
  await endAttempt(ctx, victim.id, 'preempted').catch(() => undefined);
  if (await full()) throw errors.capacity(CAPACITY_RETRY_AFTER_SECONDS);
}
