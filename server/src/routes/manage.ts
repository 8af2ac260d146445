import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AttemptService } from '../attempts/attempt-service.js';
import type { Auth } from '../auth/index.js';
import { errors } from '../errors.js';
import { INVITE_STATUSES, type InviteService, type InviteStatus, type NewInvite } from '../invites/invite-service.js';
import { DIMENSION_IDS } from '../review/scorecard.js';
import type { ReviewService } from '../review/review-service.js';
import { RECOMMENDATIONS, type Rating, type Recommendation } from '../review/types.js';
import { ATTEMPT_MODES, ATTEMPT_STATES, type AttemptMode, type AttemptState } from '../store/attempts-repo.js';
import { ATTEMPT_SORTS, type AttemptSort } from '../store/reviews-repo.js';
import { bridgeWebSocket } from '../terminal/ws-bridge.js';
import { sendRecording, upgradeRequired } from './attempts.js';

export interface ManageRoutesOptions {
  auth: Auth;
  attempts: AttemptService;
  invites: InviteService;
  reviews: ReviewService;
}

const ATTEMPT_ID = '^a_[0-9a-f]{20}$';
const INVITE_ID = '^i_[0-9a-f]{20}$';
const EXERCISE_ID = '^[a-z0-9][a-z0-9-]{1,62}$';
const USER_ID = '^u_[A-Za-z0-9_-]{1,64}$';

/** A person's name: something visible, and no control characters (NUL, escapes, line breaks). */
const NAME_PATTERN = '^(?=[^]*\\S)[^\\u0000-\\u001f\\u007f]+$';

const params = (pattern: string) =>
  ({
    type: 'object',
    required: ['id'],
    additionalProperties: false,
    properties: { id: { type: 'string', pattern } },
  }) as const;

const enumString = (values: readonly string[]) => ({ type: 'string', enum: [...values] }) as const;
const intString = { type: 'string', pattern: '^[0-9]{1,6}$' } as const;

type Id = { Params: { id: string } };

/** Interviewer routes: invites, the dashboard, the review of an attempt, exports, deletion and the live view. */
export async function manageRoutes(app: FastifyInstance, opts: ManageRoutesOptions): Promise<void> {
  const { auth, attempts, invites, reviews } = opts;
  // Before validation, so that a caller without a session learns nothing from the shape of their request.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a hook shared by routes of every request type
  const staff = auth.guard(['admin', 'interviewer']) as (request: FastifyRequest<any>) => Promise<void>;
  const userId = (request: FastifyRequest) => request.user!.id;

  // ---- invites ---------------------------------------------------------------------------------------------
  app.post(
    '/api/manage/invites',
    {
      preValidation: staff,
      schema: {
        body: {
          type: 'object',
          required: ['exerciseId', 'candidateName', 'candidateEmail', 'showFeedback'],
          additionalProperties: false,
          properties: {
            exerciseId: { type: 'string', pattern: EXERCISE_ID },
            candidateName: { type: 'string', minLength: 1, maxLength: 200, pattern: NAME_PATTERN },
            candidateEmail: { type: 'string', maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' },
            timeLimitMinutes: { type: 'integer', minimum: 1, maximum: 480 },
            showFeedback: { type: 'boolean' },
            note: { type: 'string', maxLength: 2000 },
            expiresInDays: { type: 'integer', minimum: 1, maximum: 90 },
          },
        },
      },
    },
    async (request: FastifyRequest<{ Body: NewInvite }>, reply: FastifyReply) => {
      const invite = invites.create(request.body, userId(request));
      return reply.code(201).send({ invite: invites.view(invite) });
    },
  );

  app.get(
    '/api/manage/invites',
    {
      preValidation: staff,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: enumString(INVITE_STATUSES), exerciseId: { type: 'string', pattern: EXERCISE_ID } },
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: { status?: InviteStatus; exerciseId?: string } }>) => ({
      invites: invites.list(request.query),
    }),
  );

  app.post(
    '/api/manage/invites/:id/revoke',
    { preValidation: staff, schema: { params: params(INVITE_ID) } },
    async (request: FastifyRequest<Id>) => ({ invite: invites.view(await invites.revoke(request.params.id, userId(request))) }),
  );

  app.post(
    '/api/manage/invites/:id/extend',
    {
      preValidation: staff,
      schema: {
        params: params(INVITE_ID),
        body: {
          type: 'object',
          required: ['minutes'],
          additionalProperties: false,
          properties: { minutes: { type: 'integer', minimum: 1, maximum: 240 } },
        },
      },
    },
    async (request: FastifyRequest<Id & { Body: { minutes: number } }>) => ({
      invite: invites.view(invites.extend(request.params.id, request.body.minutes, userId(request))),
    }),
  );

  // ---- attempts ----------------------------------------------------------------------------------------------
  app.get(
    '/api/manage/attempts',
    {
      preValidation: staff,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            mode: enumString(ATTEMPT_MODES),
            state: enumString(ATTEMPT_STATES),
            exerciseId: { type: 'string', pattern: EXERCISE_ID },
            interviewer: { type: 'string', pattern: USER_ID },
            minScore: intString,
            maxScore: intString,
            sort: enumString(ATTEMPT_SORTS),
            order: enumString(['asc', 'desc']),
            page: intString,
            pageSize: intString,
          },
        },
      },
    },
    async (
      request: FastifyRequest<{
        Querystring: {
          mode?: AttemptMode;
          state?: AttemptState;
          exerciseId?: string;
          interviewer?: string;
          minScore?: string;
          maxScore?: string;
          sort?: AttemptSort;
          order?: 'asc' | 'desc';
          page?: string;
          pageSize?: string;
        };
      }>,
    ) => {
      const q = request.query;
      const num = (v: string | undefined, name: string, min: number, max: number): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (n < min || n > max) throw errors.badRequest(`${name} must be from ${min} to ${max}.`);
        return n;
      };
      return reviews.list({
        mode: q.mode ?? 'interview',
        state: q.state,
        exerciseId: q.exerciseId,
        interviewer: q.interviewer,
        minScore: num(q.minScore, 'minScore', 0, 100),
        maxScore: num(q.maxScore, 'maxScore', 0, 100),
        sort: q.sort ?? 'createdAt',
        order: q.order ?? 'desc',
        page: num(q.page, 'page', 1, 100_000) ?? 1,
        pageSize: num(q.pageSize, 'pageSize', 1, 100) ?? 25,
      });
    },
  );

  app.get(
    '/api/manage/attempts/:id',
    { preValidation: staff, schema: { params: params(ATTEMPT_ID) } },
    async (request: FastifyRequest<Id>) => reviews.bundle(request.params.id, userId(request)),
  );

  app.get(
    '/api/manage/attempts/:id/recording',
    { preValidation: staff, schema: { params: params(ATTEMPT_ID) } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const attempt = attempts.get(request.params.id);
      if (!attempt) throw errors.attemptNotFound();
      return sendRecording(reply, attempts, attempt);
    },
  );

  app.get(
    '/api/manage/attempts/:id/diff',
    { preValidation: staff, schema: { params: params(ATTEMPT_ID) } },
    async (request: FastifyRequest<Id>) => {
      const diff = reviews.diff(request.params.id);
      if (!diff) throw errors.diffMissing();
      return diff;
    },
  );

  app.get(
    '/api/manage/attempts/:id/commands',
    { preValidation: staff, schema: { params: params(ATTEMPT_ID) } },
    async (request: FastifyRequest<Id>) => reviews.commands(request.params.id),
  );

  // Downloads, named after the candidate's attempt; kept out of caches (they hold the candidate's data).
  const download = (reply: FastifyReply, type: string, name: string) =>
    reply
      .header('content-type', type)
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('cache-control', 'no-store');

  app.get(
    '/api/manage/attempts/:id/export.html',
    { preValidation: staff, schema: { params: params(ATTEMPT_ID) } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const html = reviews.exportHtml(request.params.id, userId(request));
      return download(reply, 'text/html; charset=utf-8', `opslab-${request.params.id}.html`).send(html);
    },
  );

  app.get(
    '/api/manage/attempts/:id/export.json',
    { preValidation: staff, schema: { params: params(ATTEMPT_ID) } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const data = reviews.exportData(request.params.id, userId(request));
      return download(reply, 'application/json; charset=utf-8', `opslab-${request.params.id}.json`).send(
        JSON.stringify(data, null, 2),
      );
    },
  );

  const rating = {
    type: 'object',
    required: ['rating', 'notes'],
    additionalProperties: false,
    properties: {
      rating: { anyOf: [{ type: 'integer', minimum: 1, maximum: 4 }, { type: 'null' }] },
      notes: { type: 'string', maxLength: 4000 },
    },
  } as const;

  app.put(
    '/api/manage/attempts/:id/review',
    {
      preValidation: staff,
      schema: {
        params: params(ATTEMPT_ID),
        body: {
          type: 'object',
          required: ['ratings', 'recommendation', 'summary'],
          additionalProperties: false,
          properties: {
            ratings: {
              type: 'object',
              additionalProperties: false,
              properties: Object.fromEntries(DIMENSION_IDS.map((id) => [id, rating])),
            },
            recommendation: { anyOf: [enumString(RECOMMENDATIONS), { type: 'null' }] },
            summary: { type: 'string', maxLength: 10_000 },
          },
        },
      },
    },
    async (
      request: FastifyRequest<
        Id & { Body: { ratings: Record<string, Rating>; recommendation: Recommendation | null; summary: string } }
      >,
    ) => ({ review: reviews.saveReview(request.params.id, userId(request), request.body) }),
  );

  app.delete(
    '/api/manage/attempts/:id',
    { preValidation: staff, schema: { params: params(ATTEMPT_ID) } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const attempt = attempts.get(request.params.id);
      if (!attempt) throw errors.attemptNotFound();
      await attempts.deleteAttempt(attempt.id);
      auth.audit({
        userId: userId(request),
        action: 'attempt.delete',
        attemptId: attempt.id,
        inviteId: attempt.inviteId,
        detail: { exerciseId: attempt.exerciseId, state: attempt.state },
      });
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/manage/attempts/:id/live',
    {
      websocket: true,
      schema: { params: params(ATTEMPT_ID) },
      // Checked before the upgrade: a refused request gets a plain HTTP error and no WebSocket.
      preValidation: [
        staff,
        async (request: FastifyRequest<Id>) => {
          if (!request.ws) throw upgradeRequired();
          const attempt = attempts.get(request.params.id);
          if (!attempt) throw errors.attemptNotFound();
          if (attempt.state !== 'running') throw errors.attemptEnded(attempt.state);
          if (attempt.sandboxStatus === 'missing') throw errors.sandboxMissing();
          request.attempt = attempt;
        },
      ],
    },
    async (socket, request: FastifyRequest<Id>) => {
      const attempt = request.attempt!;
      let terminal;
      try {
        terminal = await attempts.terminalFor(attempt);
      } catch (err) {
        request.log.error({ attemptId: attempt.id, err: (err as Error).message }, 'live view could not be opened');
        socket.close(1011, 'The terminal could not be opened.');
        return;
      }
      const current = attempts.get(attempt.id) ?? attempt;
      bridgeWebSocket(
        socket,
        terminal,
        { type: 'hello', attempt: attempts.view(current), readOnly: true },
        (msg, extra) => request.log.warn({ attemptId: attempt.id, ...extra }, msg),
        { readOnly: true },
      );
    },
  );
}
