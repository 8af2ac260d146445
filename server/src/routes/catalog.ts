import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ExerciseParams, type Exercise, type ExerciseSummary, type Static } from '../../../contract/index.js';
import { errors } from '../errors.js';
import type { ExerciseCatalog } from '../exercises/catalog.js';
import type { GradingQueueStats } from '../grading/queue.js';
import type { JobDriver } from '../sandbox/sandbox-driver.js';

export interface CatalogRoutesOptions {
  catalog: ExerciseCatalog;
  driver: Pick<JobDriver, 'ping'>;
  version: string;
  /** The grading queue's figures, reported by /api/health. */
  grading?: () => GradingQueueStats;
}

/** `/api/health` and the exercise catalog: what anyone may see, without a token. */
export async function catalogRoutes(app: FastifyInstance, opts: CatalogRoutesOptions): Promise<void> {
  const { catalog, driver, version } = opts;

  app.get('/api/health', async (_request, reply) => {
    const docker = (await driver.ping()) ? 'ok' : 'unreachable';
    const q = opts.grading?.();
    // Gradings waiting and running: how loaded the graders are, and how long the longest wait is so far.
    const grading = q
      ? { running: q.running, queued: q.queued, oldestWaitMs: q.oldestWaitMs, concurrency: q.concurrency, maxQueued: q.maxQueued, containers: q.containers }
      : undefined;
    return reply
      .code(docker === 'ok' ? 200 : 503)
      .send({ status: docker === 'ok' ? 'ok' : 'degraded', docker, version, ...(grading ? { grading } : {}) });
  });

  app.get('/api/exercises', async (): Promise<{ exercises: ExerciseSummary[] }> => ({
    exercises: catalog.list().map(({ id, title, summary, difficulty, timeLimitMinutes, image, skills }) => ({
      id,
      title,
      summary,
      difficulty,
      timeLimitMinutes,
      image,
      skills,
    })),
  }));

  app.get(
    '/api/exercises/:id',
    { schema: { params: ExerciseParams } },
    async (request: FastifyRequest<{ Params: Static<typeof ExerciseParams> }>): Promise<{ exercise: Exercise }> => {
      const { id } = request.params;
      const exercise = catalog.get(id);
      if (!exercise) throw errors.exerciseNotFound(id);
      // What anyone may see: never the hints' text, the variants' choices, the reference or wrong answers.
      return {
        exercise: {
          id: exercise.id,
          title: exercise.title,
          summary: exercise.summary,
          difficulty: exercise.difficulty,
          timeLimitMinutes: exercise.timeLimitMinutes,
          image: exercise.image,
          skills: exercise.skills,
          instructions: exercise.instructions,
          checks: exercise.checks.map(({ id, title, points }) => ({ id, title, points })),
          hintCount: exercise.hints.length,
        },
      };
    },
  );
}
