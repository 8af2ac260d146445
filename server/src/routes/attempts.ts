import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AttemptParams, CommandPageQuery, CreateAttemptBody } from '../../../contract/index.js';
import type { AttemptService } from '../attempts/attempt-service.js';
import { errors } from '../errors.js';
import type { ExerciseCatalog } from '../exercises/catalog.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { InviteService } from '../invites/invite-service.js';
import type { PracticeService } from '../practice/practice-service.js';
import type { ReviewService } from '../review/review-service.js';
import { practiceToken, presentedToken, setAttemptCookie, setPracticeCookie } from './cookies.js';
import { sendRecording } from './downloads.js';
import { exerciseView } from './catalog.js';
import { pageOf } from './pages.js';
import { terminalRoute } from './terminal-socket.js';
import type { FilesService } from '../workspace-files/files-service.js';
import type { SignalsService } from '../workspace-files/signals.js';
import type { TransferService } from '../workspace-files/transfer.js';
import { fileRoutes } from './files.js';

type IdRequest = FastifyRequest<{ Params: AttemptParams }>;

export interface AttemptRoutesOptions {
  attempts: AttemptService;
  catalog: Pick<ExerciseCatalog, 'get' | 'forAttempt'>;
  invites: InviteService;
  practice: PracticeService;
  reviews: ReviewService;
  secureCookies: boolean;
  /** The workspace's editor (its routes are guarded like every attempt route). */
  files?: FilesService;
  /** Uploads and downloads, and the page's signals (pastes, focus): with the editor's routes. */
  transfer?: TransferService;
  signals?: SignalsService;
}

export async function attemptRoutes(app: FastifyInstance, opts: AttemptRoutesOptions): Promise<void> {
  /** The trainee's catalog status: every exercise with their own progress. */
  app.get('/api/practice', async (request: FastifyRequest) => ({
    enabled: opts.practice.enabled,
    timeLimitMinutes: opts.practice.timeLimitMinutes,
    exercises: await opts.practice.progress(practiceToken(request)),
  }));

  const { attempts, practice } = opts;

  /**
   * Loads the attempt named in the path and checks the token (the attempt's own, or the practice token of the
   * trainee who owns it); the same check guards the WebSocket upgrade.
   */
  const authorise = async (request: IdRequest): Promise<Attempt> => {
    const attempt = await attempts.get(request.params.id);
    const token = presentedToken(request, request.params.id);
    const trainee = practiceToken(request);
    const allowed =
      attempt !== undefined &&
      ((token !== undefined && attempts.tokenMatches(attempt, token)) || practice.owns(trainee, attempt));
    // An unknown id and a wrong token look the same, so ids cannot be probed.
    if (!allowed) throw token || trainee ? errors.attemptNotFound() : errors.unauthorized();
    await opts.invites.assertAttemptAccess(attempt);
    request.attempt = attempt;
    return attempt;
  };
  /**
   * For routes that reveal the exercise (instructions, hints, check messages, the solution): a practice attempt of an
   * exercise practice no longer offers gets the same 404 as an unknown exercise.
   */
  const reveals = [authorise, async (request: IdRequest) => practice.assertReveals(request.attempt!)];

  app.post(
    '/api/attempts',
    {
      schema: { body: CreateAttemptBody },
    },
    async (request: FastifyRequest<{ Body: CreateAttemptBody }>, reply: FastifyReply) => {
      // Trainees have no account: their browser's practice token keeps their attempts together. Without one, a
      // new trainee (counted against the client's limits); request.ip honours OPSLAB_TRUST_PROXY.
      const trainee = practiceToken(request);
      const { attempt, token } = await practice.start(
        request.body.exerciseId,
        practice.ownerHash(trainee) ? trainee! : null,
        request.ip,
        (fresh) => setPracticeCookie(reply, fresh, opts.secureCookies),
      );
      setAttemptCookie(reply, attempt, token, opts.secureCookies);
      return reply.code(201).send({ attempt: attempts.view(attempt), token });
    },
  );

  app.get('/api/attempts/:id', { schema: { params: AttemptParams }, preHandler: authorise }, async (request: IdRequest) => ({
    attempt: attempts.view(request.attempt!),
  }));

  /** The attempt's exercise as the workspace shows it (instructions, check titles): interview exercises are not public. */
  app.get('/api/attempts/:id/exercise', { schema: { params: AttemptParams }, preHandler: reveals }, async (request: IdRequest) => {
    // The instructions of the version the attempt was started with.
    const attempt = request.attempt!;
    const exercise = opts.catalog.forAttempt(attempt);
    if (!exercise) throw attempt.exerciseVersion ? errors.exerciseVersionMissing(attempt.exerciseId, attempt.exerciseVersion) : errors.exerciseNotFound(attempt.exerciseId);
    return { exercise: exerciseView(exercise) };
  });

  app.post('/api/attempts/:id/submit', { schema: { params: AttemptParams }, preHandler: authorise }, async (request: IdRequest) => ({
    attempt: attempts.view(await attempts.submit(request.params.id)),
  }));

  app.post(
    '/api/attempts/:id/restart-shell',
    { schema: { params: AttemptParams }, preHandler: authorise },
    async (request: IdRequest) => ({ attempt: attempts.view(await attempts.restartShell(request.params.id)) }),
  );

  app.post(
    '/api/attempts/:id/checks',
    { schema: { params: AttemptParams }, preHandler: reveals },
    async (request: IdRequest) => ({
      results: attempts.candidateResults(await attempts.runChecks(request.params.id), request.attempt!),
    }),
  );

  app.post('/api/attempts/:id/reset', { schema: { params: AttemptParams }, preHandler: authorise }, async (request: IdRequest) => ({
    attempt: attempts.view(await attempts.resetSandbox(request.params.id)),
  }));

  app.get('/api/attempts/:id/solution', { schema: { params: AttemptParams }, preHandler: reveals }, async (request: IdRequest) => ({
    solution: practice.solution(request.attempt!),
  }));

  /** Practice: the trainee's own command timeline (interviews show it to interviewers only). */
  app.get(
    '/api/attempts/:id/commands',
    { schema: { params: AttemptParams, querystring: CommandPageQuery }, preHandler: authorise },
    async (request: IdRequest) => {
      if (request.attempt!.mode !== 'practice') throw errors.practiceOnly();
      return opts.reviews.commands(request.attempt!.id, pageOf(request.query as CommandPageQuery));
    },
  );

  /** Practice: the final grading with every check's message; interview candidates are not shown their grade. */
  app.get('/api/attempts/:id/grading', { schema: { params: AttemptParams }, preHandler: reveals }, async (request: IdRequest) => {
    const attempt = request.attempt!;
    if (attempt.mode !== 'practice') throw errors.practiceOnly();
    const run = await attempts.finalRun(attempt.id);
    return { grading: run ? attempts.candidateResults(run, attempt) : null };
  });

  app.get('/api/attempts/:id/hints', { schema: { params: AttemptParams }, preHandler: reveals }, async (request: IdRequest) => ({
    hints: attempts.hints(request.attempt!),
  }));

  app.post('/api/attempts/:id/hints', { schema: { params: AttemptParams }, preHandler: reveals }, async (request: IdRequest) => ({
    hints: await attempts.revealHint(request.params.id),
  }));

  app.get(
    '/api/attempts/:id/recording',
    { schema: { params: AttemptParams }, preHandler: authorise },
    async (request: IdRequest, reply: FastifyReply) => sendRecording(reply, attempts, request.attempt!, request.query),
  );

  terminalRoute(app, { url: '/api/attempts/:id/terminal', attempts, readOnly: false, access: authorise });

  // The editor's routes read and change the sandbox's files: they wait until the start has put them in place and
  // stored its initial snapshot (the access checked again after the wait, which the attempt may not have survived).
  const authoriseSettled = async (request: IdRequest): Promise<Attempt> => {
    await attempts.settled((await authorise(request)).id);
    return authorise(request);
  };
  if (opts.files && opts.transfer && opts.signals) {
    fileRoutes(app, { files: opts.files, transfer: opts.transfer, signals: opts.signals, authorise: authoriseSettled });
  }
}
