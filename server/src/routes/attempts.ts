import fs from 'node:fs';
import { AttemptParams, CLOSE_CODES, CreateAttemptBody } from '../../../contract/index.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AttemptService } from '../attempts/attempt-service.js';
import { errors, OpslabError } from '../errors.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { InviteService } from '../invites/invite-service.js';
import { PRACTICE_COOKIE, type PracticeService } from '../practice/practice-service.js';
import type { ReviewService } from '../review/review-service.js';
import { bridgeWebSocket } from '../terminal/ws-bridge.js';
import { attemptCookieName, presentedToken } from './security.js';

const idParams = AttemptParams;

type IdRequest = FastifyRequest<{ Params: AttemptParams }>;

export interface AttemptRoutesOptions {
  attempts: AttemptService;
  invites: InviteService;
  practice: PracticeService;
  reviews: ReviewService;
  secureCookies: boolean;
}

export async function attemptRoutes(app: FastifyInstance, opts: AttemptRoutesOptions): Promise<void> {
  const setPracticeCookie = (reply: FastifyReply, token: string) =>
    reply.setCookie(PRACTICE_COOKIE, token, {
      path: '/api',
      httpOnly: true,
      sameSite: 'strict',
      secure: opts.secureCookies,
      maxAge: 365 * 86_400,
    });

  /** The trainee's catalog status: every exercise with their own progress. */
  app.get('/api/practice', async (request: FastifyRequest) => ({
    enabled: opts.practice.enabled,
    timeLimitMinutes: opts.practice.timeLimitMinutes,
    exercises: opts.practice.progress(request.cookies[PRACTICE_COOKIE]),
  }));

  const { attempts, practice } = opts;

  /**
   * Loads the attempt named in the path and checks the token (the attempt's own, or the practice token of the
   * trainee who owns it); the same check guards the WebSocket upgrade.
   */
  const authorise = async (request: IdRequest): Promise<Attempt> => {
    const attempt = attempts.get(request.params.id);
    const token = presentedToken(request, request.params.id);
    const practiceToken = request.cookies[PRACTICE_COOKIE];
    const allowed =
      attempt !== undefined &&
      ((token !== undefined && attempts.tokenMatches(attempt, token)) || practice.owns(practiceToken, attempt));
    // An unknown id and a wrong token look the same, so ids cannot be probed.
    if (!allowed) throw token || practiceToken ? errors.attemptNotFound() : errors.unauthorized();
    opts.invites.assertAttemptAccess(attempt);
    request.attempt = attempt;
    return attempt;
  };

  app.post(
    '/api/attempts',
    {
      schema: { body: CreateAttemptBody },
    },
    async (request: FastifyRequest<{ Body: CreateAttemptBody }>, reply: FastifyReply) => {
      // Trainees have no account: their browser's practice token keeps their attempts together.
      let practiceToken = request.cookies[PRACTICE_COOKIE];
      if (!practice.ownerHash(practiceToken)) {
        if (!practice.enabled) throw errors.practiceOff();
        practiceToken = practice.newToken();
        setPracticeCookie(reply, practiceToken);
      }
      const { attempt, token } = await practice.start(request.body.exerciseId, practiceToken!);
      reply.setCookie(attemptCookieName(attempt.id), token, {
        path: `/api/attempts/${attempt.id}`,
        httpOnly: true,
        sameSite: 'strict',
        secure: opts.secureCookies,
        maxAge: Math.max(3600, attempt.timeLimitSeconds * 4),
      });
      return reply.code(201).send({ attempt: attempts.view(attempt), token });
    },
  );

  app.get('/api/attempts/:id', { schema: { params: idParams }, preHandler: authorise }, async (request: IdRequest) => ({
    attempt: attempts.view(request.attempt!),
  }));

  app.post('/api/attempts/:id/submit', { schema: { params: idParams }, preHandler: authorise }, async (request: IdRequest) => ({
    attempt: attempts.view(await attempts.submit(request.params.id)),
  }));

  app.post(
    '/api/attempts/:id/restart-shell',
    { schema: { params: idParams }, preHandler: authorise },
    async (request: IdRequest) => ({ attempt: attempts.view(await attempts.restartShell(request.params.id)) }),
  );

  app.post(
    '/api/attempts/:id/checks',
    { schema: { params: idParams }, preHandler: authorise },
    async (request: IdRequest) => ({
      results: attempts.candidateResults(await attempts.runChecks(request.params.id), request.attempt!),
    }),
  );

  app.post('/api/attempts/:id/reset', { schema: { params: idParams }, preHandler: authorise }, async (request: IdRequest) => ({
    attempt: attempts.view(await attempts.resetSandbox(request.params.id)),
  }));

  app.get('/api/attempts/:id/solution', { schema: { params: idParams }, preHandler: authorise }, async (request: IdRequest) => ({
    solution: practice.solution(request.attempt!),
  }));

  /** Practice: the trainee's own command timeline (interviews show it to interviewers only). */
  app.get('/api/attempts/:id/commands', { schema: { params: idParams }, preHandler: authorise }, async (request: IdRequest) => {
    if (request.attempt!.mode !== 'practice') throw errors.practiceOnly();
    return opts.reviews.commands(request.attempt!.id);
  });

  /** Practice: the final grading with every check's message; interview candidates are not shown their grade. */
  app.get('/api/attempts/:id/grading', { schema: { params: idParams }, preHandler: authorise }, async (request: IdRequest) => {
    const attempt = request.attempt!;
    if (attempt.mode !== 'practice') throw errors.practiceOnly();
    const run = attempts.finalRun(attempt.id);
    return { grading: run ? attempts.candidateResults(run, attempt) : null };
  });

  app.get('/api/attempts/:id/hints', { schema: { params: idParams }, preHandler: authorise }, async (request: IdRequest) => ({
    hints: attempts.hints(request.attempt!),
  }));

  app.post('/api/attempts/:id/hints', { schema: { params: idParams }, preHandler: authorise }, async (request: IdRequest) => ({
    hints: attempts.revealHint(request.params.id),
  }));

  app.get(
    '/api/attempts/:id/recording',
    { schema: { params: idParams }, preHandler: authorise },
    async (request: IdRequest, reply: FastifyReply) => sendRecording(reply, attempts, request.attempt!),
  );

  app.get(
    '/api/attempts/:id/terminal',
    {
      websocket: true,
      schema: { params: idParams },
      // Runs before the upgrade completes: a refused request gets a plain HTTP error and no WebSocket.
      preValidation: async (request: IdRequest) => {
        const attempt = await authorise(request);
        if (!request.ws) throw upgradeRequired();
        if (attempt.state !== 'running') throw errors.attemptEnded(attempt.state);
        if (attempt.sandboxStatus === 'missing') throw errors.sandboxMissing();
      },
    },
    async (socket, request: IdRequest) => {
      const attempt = request.attempt!;
      let terminal;
      try {
        terminal = await attempts.terminalFor(attempt);
      } catch (err) {
        request.log.error({ attemptId: attempt.id, err: (err as Error).message }, 'terminal could not be opened');
        socket.close(CLOSE_CODES.serverError, 'The terminal could not be opened.');
        return;
      }
      const current = attempts.get(attempt.id) ?? attempt;
      bridgeWebSocket(socket, terminal, { type: 'hello', attempt: attempts.view(current) }, (msg, extra) =>
        request.log.warn({ attemptId: attempt.id, ...extra }, msg),
      );
    },
  );
}

/** An attempt's asciicast recording as a download, with everything buffered so far flushed first. */
export function sendRecording(reply: FastifyReply, attempts: AttemptService, attempt: Attempt): FastifyReply {
  attempts.flushRecording(attempt.id);
  const file = attempts.recordingFile(attempt);
  if (!fs.existsSync(file)) throw errors.recordingMissing();
  return reply
    .header('content-type', 'application/x-asciicast')
    .header('content-disposition', `attachment; filename="${attempt.id}.cast"`)
    .header('cache-control', 'no-store')
    .send(fs.createReadStream(file));
}

/** A plain HTTP request to a WebSocket endpoint (the plugin would answer an empty 404). */
export const upgradeRequired = () =>
  new OpslabError('OPSLAB_ERR_UPGRADE_REQUIRED', 426, 'This address takes WebSocket connections only.', { upgrade: 'websocket' });

declare module 'fastify' {
  interface FastifyRequest {
    attempt?: Attempt;
  }
}
