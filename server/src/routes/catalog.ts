import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ExerciseParams,
  type Exercise,
  type ExerciseSummary,
  type StaffExerciseSummary,
  type Static,
} from '../../../contract/index.js';
import type { Auth } from '../auth/index.js';
import { errors } from '../errors.js';
import type { Exercise as CatalogExercise, ExerciseCatalog } from '../exercises/catalog.js';
import type { PracticeService } from '../practice/practice-service.js';
import type { JobDriver } from '../sandbox/sandbox-driver.js';
import { staffGuard } from './staff-guard.js';

export interface CatalogRoutesOptions {
  catalog: ExerciseCatalog;
  practice: Pick<PracticeService, 'exercises' | 'offers'>;
  auth: Pick<Auth, 'authenticate'>;
  driver: Pick<JobDriver, 'ping'>;
  version: string;
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
    return reply.code(docker === 'ok' ? 200 : 503).send({ status: docker === 'ok' ? 'ok' : 'degraded', docker, version });
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
    { preValidation: staffGuard(opts.auth, ['admin', 'interviewer']) },
    async (): Promise<{ exercises: StaffExerciseSummary[] }> => ({
      exercises: catalog.list().map((e) => ({ ...exerciseSummary(e), modes: [...e.modes], practice: practice.offers(e.id) })),
    }),
  );
}
