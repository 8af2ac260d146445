import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { hashToken, type AttemptService } from '../attempts/attempt-service.js';
import type { Config } from '../config.js';
import { ERROR_CODES } from '../../../contract/errors.js';
import { errors, OpslabError } from '../errors.js';
import type { Exercise, ExerciseCatalog } from '../exercises/catalog.js';
import type { GradingRepo } from '../store/grading-repo.js';
import type { Attempt, AttemptsRepo } from '../store/attempts-repo.js';
import type { PracticeProgress, Solution } from '../../../contract/practice.js';
import { practiceOffer } from './offer.js';
import { StartLimits } from './start-limits.js';

export const PRACTICE_COOKIE = 'opslab_practice';
const PRACTICE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export type { PracticeProgress, PracticeStatus } from '../../../contract/practice.js';

export interface PracticeServiceDeps {
  config: Config;
  attempts: AttemptService;
  repo: AttemptsRepo;
  grading: GradingRepo;
  catalog: ExerciseCatalog;
}

/**
 * Practice mode: trainees have no account. Their browser holds an anonymous practice token (an HttpOnly cookie);
 * their attempts are kept under its hash, which is all the server knows of them.
 */
export class PracticeService {
  /** The exercises practice offers (OPSLAB_PRACTICE_EXERCISES over each exercise's `modes`). */
  private readonly offer: Set<string>;
  private readonly limits: StartLimits;

  /** Throws a ConfigError when OPSLAB_PRACTICE_EXERCISES names an exercise the catalog does not hold. */
  constructor(private readonly deps: PracticeServiceDeps) {
    this.offer = practiceOffer(deps.config.practice.exercises, deps.catalog);
    this.limits = new StartLimits(deps.config.practice);
  }

  get enabled(): boolean {
    return this.deps.config.practice.enabled;
  }

  /** The shortest time a practice attempt gets (longer when the exercise's own limit is longer). */
  get timeLimitMinutes(): number {
    return this.deps.config.practice.timeLimitMinutes;
  }

  /** Whether practice offers this exercise now (never while practice is off). */
  offers(exerciseId: string): boolean {
    if (!this.enabled) return false;
    // `all` and `declared` follow the catalog as it is now: an exercise published from git later is offered too.
    const setting = this.deps.config.practice.exercises;
    if (setting === 'all') return this.deps.catalog.get(exerciseId) !== undefined;
    if (setting === 'declared') return this.deps.catalog.get(exerciseId)?.modes.includes('practice') ?? false;
    return this.offer.has(exerciseId);
  }

  /** The practice catalog: the exercises practice offers, none while practice is off. */
  exercises(): Exercise[] {
    return this.deps.catalog.list().filter((e) => this.offers(e.id));
  }

  /**
   * Refuses to reveal an exercise's material (instructions, hints, check messages, the solution) through a practice
   * attempt of an exercise practice no longer offers (the operator changed OPSLAB_PRACTICE_EXERCISES, or turned
   * practice off): the same 404 as an unknown exercise. Interview attempts are not practice's to judge.
   */
  assertReveals(attempt: Attempt): void {
    if (attempt.mode === 'practice' && !this.offers(attempt.exerciseId)) throw errors.exerciseNotFound(attempt.exerciseId);
  }

  newToken(): string {
    return randomBytes(32).toString('base64url');
  }

  /** The hash of a well-formed practice token, or null. */
  ownerHash(token: string | undefined): string | null {
    return token && PRACTICE_TOKEN.test(token) ? hashToken(token) : null;
  }

  /** Whether the holder of this practice token owns the attempt. */
  owns(token: string | undefined, attempt: Attempt): boolean {
    const hash = this.ownerHash(token);
    return hash !== null && attempt.mode === 'practice' && attempt.ownerHash === hash;
  }

  async progress(token: string | undefined): Promise<PracticeProgress[]> {
    const hash = this.ownerHash(token);
    const mine = hash ? await this.deps.repo.listByOwner(hash) : [];
    const finals = await this.deps.grading.finalScoresFor(mine.map((a) => a.id));
    return this.exercises().map((exercise) => {
      const attempts = mine.filter((a) => a.exerciseId === exercise.id);
      const active = attempts.find((a) => a.state === 'running' || a.state === 'created');
      let bestScore: number | null = null;
      let maxScore: number | null = null;
      for (const a of attempts) {
        const run = finals.get(a.id);
        if (!run || run.error) continue;
        if (bestScore === null || run.score > bestScore) {
          bestScore = run.score;
          maxScore = run.maxScore;
        }
      }
      const finished = attempts.some((a) => a.state !== 'running' && a.state !== 'created' && a.state !== 'failed');
      return {
        exerciseId: exercise.id,
        status: active ? 'in-progress' : finished ? 'done' : 'not-started',
        bestScore,
        maxScore,
        attempts: attempts.filter((a) => a.state !== 'failed').length,
        activeAttemptId: active?.id ?? null,
        lastAttemptId: attempts[0]?.id ?? null,
      };
    });
  }

  /**
   * Starts a practice attempt for the holder of `trainee` (a well-formed practice token), or for a new trainee
   * when it is null: a new token is made and handed to `onNewTrainee` (which sets the cookie). Within the
   * per-trainee limit, and the client's limits on starts and on new trainees (`client`: its address).
   */
  async start(
    exerciseId: string,
    trainee: string | null,
    client: string,
    onNewTrainee: (token: string) => void = () => undefined,
  ): Promise<{ attempt: Attempt; token: string }> {
    const { config, catalog, repo, attempts } = this.deps;
    if (!config.practice.enabled) throw errors.practiceOff();
    const exercise = catalog.get(exerciseId);
    // An exercise practice does not offer answers exactly as one that does not exist: its name is not confirmed.
    if (!exercise || !this.offers(exerciseId)) throw errors.exerciseNotFound(exerciseId);
    if (trainee !== null) {
      const running = (await repo.listByOwner(hashToken(trainee))).filter((a) => a.state === 'running' || a.state === 'created');
      if (running.length >= config.practice.perTrainee) {
        throw errors.practiceLimit(catalog.get(running[0]!.exerciseId)?.title ?? running[0]!.exerciseId);
      }
    }
    const giveBack = this.limits.reserve(client, trainee === null);
    if (trainee === null) {
      trainee = this.newToken();
      onNewTrainee(trainee);
    }
    try {
      return await attempts.start(exerciseId, {
        mode: 'practice',
        ownerHash: hashToken(trainee),
        timeLimitSeconds: Math.max(exercise.timeLimitMinutes, config.practice.timeLimitMinutes) * 60,
      });
    } catch (err) {
      // Refused for want of room, which the client did not cause: the start does not count against it.
      if (err instanceof OpslabError && (err.code === ERROR_CODES.capacity || err.code === ERROR_CODES.storageFull)) giveBack();
      throw err;
    }
  }

  /** The reference solution, once the attempt is over: the walkthrough (solution/README.md) and the script. */
  solution(attempt: Attempt): Solution {
    if (attempt.mode !== 'practice') throw errors.practiceOnly();
    this.assertReveals(attempt);
    if (attempt.state === 'running' || attempt.state === 'created') throw errors.solutionLocked();
    const exercise = this.deps.catalog.forAttempt(attempt);
    if (!exercise) throw errors.exerciseNotFound(attempt.exerciseId);
    const read = (name: string) => {
      try {
        return fs.readFileSync(path.join(exercise.dir, 'solution', name), 'utf8');
      } catch {
        return null;
      }
    };
    return { walkthrough: read('README.md'), script: read('apply') };
  }
}
