import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ExerciseParams,
  type Exercise,
  type ExerciseSummary,
  type StaffExerciseSummary,
  type ExercisePublishFailure,
  type ExerciseRepositoryState,
  type Static,
} from '../../../contract/index.js';
import type { Auth } from '../auth/index.js';
import { errors } from '../errors.js';
import type { Exercise as CatalogExercise, ExerciseCatalog } from '../exercises/catalog.js';
import type { PracticeService } from '../practice/practice-service.js';
import type { DataUsage } from '../attempts/attempt-service.js';
import type { GradingQueueStats } from '../grading/queue.js';
import type { JobDriver } from '../sandbox/sandbox-driver.js';
import { staffGuard } from './staff-guard.js';
import type { ExercisePublisher } from '../exercises/publish.js';
import type { PublishFailure } from '../store/exercise-sources-repo.js';

export interface CatalogRoutesOptions {
  catalog: ExerciseCatalog;
  practice: Pick<PracticeService, 'exercises' | 'offers'>;
  auth: Pick<Auth, 'authenticate'>;
  /** What the data directory holds against its budget. */
  dataUsage: () => Promise<DataUsage>;
  driver: Pick<JobDriver, 'ping'>;
  version: string;
  /** The grading queue's figures, reported by /api/health. */
  grading?: () => GradingQueueStats;
  /** Exercises from git: where each comes from, the repositories' last fetch, what failed to publish. */
  publisher?: Pick<ExercisePublisher, 'origin' | 'failures' | 'sourceStates'> | null;
  /** The local exercises folder, shown as the source of exercises without a publisher. */
  exercisesDir?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

function failureView(f: PublishFailure): ExercisePublishFailure {
  return { ...f, problems: [...f.problems], failedAt: iso(f.failedAt) };
}

export function exerciseSummary(exercise: CatalogExercise): ExerciseSummary {
  const { id, title, summary, difficulty, timeLimitMinutes, image, skills } = exercise;
  return { id, title, summary, difficulty, timeLimitMinutes, image, skills };
}

/** What a person working the exercise reads: never the hints' text, the variants' choices, the reference or wrong answers. */
export function exerciseView(exercise: CatalogExercise): Exercise {
  return {
    ...exerciseSummary(exercise),
    instructions: exercise.instructions,
    checks: exercise.checks.map(({ id, title, points, advisory }) => ({ id, title, points, advisory })),
    hintCount: exercise.hints.length,
    editor: exercise.editor !== false,
  };
}

/**
 * `/api/health` and the practice catalog: what anyone may see, without a token. The catalog holds only the exercises
 * practice offers; any other id answers as an unknown one, so the names of interview exercises do not leak. Staff list
 * every exercise at `/api/manage/exercises`.
 */
export async function catalogRoutes(app: FastifyInstance, opts: CatalogRoutesOptions): Promise<void> {
  const { catalog, practice, driver, version } = opts;

  app.get('/api/health', async (_request, reply) => {
    const docker = (await driver.ping()) ? 'ok' : 'unreachable';
    const usage = await opts.dataUsage();
    const MB = 1024 * 1024;
    // The data directory against its budget: past budget minus reserve new practice is refused, past it all.
    const data = {
      usedMb: Math.round((usage.usedBytes / MB) * 10) / 10,
      budgetMb: usage.maxBytes / MB,
      interviewReserveMb: usage.interviewReserveBytes / MB,
      newPractice: usage.practiceRefused ? 'refused' : 'ok',
      newInterviews: usage.interviewsRefused ? 'refused' : 'ok',
    };
    const q = opts.grading?.();
    // Gradings waiting and running: how loaded the graders are, and how long the longest wait is so far.
    const grading = q
      ? { running: q.running, queued: q.queued, oldestWaitMs: q.oldestWaitMs, concurrency: q.concurrency, maxQueued: q.maxQueued, containers: q.containers }
      : undefined;
    return reply
      .code(docker === 'ok' ? 200 : 503)
      .send({ status: docker === 'ok' ? 'ok' : 'degraded', docker, version, data, ...(grading ? { grading } : {}) });
  });

  app.get('/api/exercises', async (): Promise<{ exercises: ExerciseSummary[] }> => ({
    exercises: practice.exercises().map(exerciseSummary),
  }));

  app.get(
    '/api/exercises/:id',
    { schema: { params: ExerciseParams } },
    async (request: FastifyRequest<{ Params: Static<typeof ExerciseParams> }>): Promise<{ exercise: Exercise }> => {
      const { id } = request.params;
      const exercise = catalog.get(id);
      if (!exercise || !practice.offers(id)) throw errors.exerciseNotFound(id);
      return { exercise: exerciseView(exercise) };
    },
  );

  app.get(
    '/api/manage/exercises',
    // API tokens with invites:write too: the exercise ids an invite may name.
    { preValidation: staffGuard(opts.auth, ['admin', 'interviewer'], 'invites:write') },
    async (): Promise<{ exercises: StaffExerciseSummary[]; repositories: ExerciseRepositoryState[]; unpublished: ExercisePublishFailure[] }> => {
      const publisher = opts.publisher ?? null;
      const failures = new Map(((await publisher?.failures()) ?? []).map((f) => [f.exerciseId, failureView(f)]));
      const exercises: StaffExerciseSummary[] = [];
      for (const e of catalog.list()) {
        const origin = (await publisher?.origin(e.id)) ?? { kind: 'local' as const, location: opts.exercisesDir ?? '' };
        const failure = failures.get(e.id);
        failures.delete(e.id);
        exercises.push({
          ...exerciseSummary(e),
          modes: [...e.modes],
          practice: practice.offers(e.id),
          version: e.version,
          source: origin.kind === 'git' ? { ...origin, publishedAt: iso(origin.publishedAt) } : origin,
          ...(failure ? { lastFailure: failure } : {}),
        });
      }
      const repositories = (publisher?.sourceStates() ?? []).map((s) => ({ ...s, fetchedAt: s.fetchedAt === null ? null : iso(s.fetchedAt) }));
      // Exercises of a repository that never passed: shown so that staff see why they are missing.
      return { exercises, repositories, unpublished: [...failures.values()] };
    },
  );
}
