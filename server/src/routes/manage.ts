import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AttemptService } from '../attempts/attempt-service.js';
import type { Auth } from '../auth/index.js';
import {
  ATTEMPT_LIST_LIMITS,
  AttemptListQuery,
  CreateInviteBody,
  ExtendInviteBody,
  InviteListQuery,
  InviteParams,
  CLOSE_CODES,
  ManageAttemptParams,
  ReviewInput,
  type IdParams,
} from '../../../contract/index.js';
import { errors } from '../errors.js';
import type { InviteService } from '../invites/invite-service.js';
import type { ReviewService } from '../review/review-service.js';
import { bridgeWebSocket } from '../terminal/ws-bridge.js';
import { sendRecording, upgradeRequired } from './attempts.js';

export interface ManageRoutesOptions {
  auth: Auth;
  attempts: AttemptService;
  invites: InviteService;
  reviews: ReviewService;
}

type Id = { Params: IdParams };

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
      schema: { body: CreateInviteBody },
    },
    async (request: FastifyRequest<{ Body: CreateInviteBody }>, reply: FastifyReply) => {
      const invite = invites.create(request.body, userId(request));
      return reply.code(201).send({ invite: invites.view(invite) });
    },
  );

  app.get(
    '/api/manage/invites',
    {
      preValidation: staff,
      schema: { querystring: InviteListQuery },
    },
    async (request: FastifyRequest<{ Querystring: InviteListQuery }>) => ({
      invites: invites.list(request.query),
    }),
  );

  app.post(
    '/api/manage/invites/:id/revoke',
    { preValidation: staff, schema: { params: InviteParams } },
    async (request: FastifyRequest<Id>) => ({ invite: invites.view(await invites.revoke(request.params.id, userId(request))) }),
  );

  app.post(
    '/api/manage/invites/:id/extend',
    {
      preValidation: staff,
      schema: { params: InviteParams, body: ExtendInviteBody },
    },
    async (request: FastifyRequest<Id & { Body: ExtendInviteBody }>) => ({
      invite: invites.view(invites.extend(request.params.id, request.body.minutes, userId(request))),
    }),
  );

  // ---- attempts ----------------------------------------------------------------------------------------------
  app.get(
    '/api/manage/attempts',
    {
      preValidation: staff,
      schema: { querystring: AttemptListQuery },
    },
    async (request: FastifyRequest<{ Querystring: AttemptListQuery }>) => {
      const q = request.query;
      const { score, page, pageSize } = ATTEMPT_LIST_LIMITS;
      const num = (v: string | undefined, name: string, bounds: { min: number; max: number }): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (n < bounds.min || n > bounds.max) throw errors.badRequest(`${name} must be from ${bounds.min} to ${bounds.max}.`);
        return n;
      };
      return reviews.list({
        mode: q.mode ?? 'interview',
        state: q.state,
        exerciseId: q.exerciseId,
        interviewer: q.interviewer,
        minScore: num(q.minScore, 'minScore', score),
        maxScore: num(q.maxScore, 'maxScore', score),
        sort: q.sort ?? 'createdAt',
        order: q.order ?? 'desc',
        page: num(q.page, 'page', page) ?? 1,
        pageSize: num(q.pageSize, 'pageSize', pageSize) ?? pageSize.default,
      });
    },
  );

  app.get(
    '/api/manage/attempts/:id',
    { preValidation: staff, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>) => reviews.bundle(request.params.id, userId(request)),
  );

  app.get(
    '/api/manage/attempts/:id/recording',
    { preValidation: staff, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const attempt = attempts.get(request.params.id);
      if (!attempt) throw errors.attemptNotFound();
      return sendRecording(reply, attempts, attempt);
    },
  );

  app.get(
    '/api/manage/attempts/:id/diff',
    { preValidation: staff, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>) => {
      const diff = reviews.diff(request.params.id);
      if (!diff) throw errors.diffMissing();
      return diff;
    },
  );

  app.get(
    '/api/manage/attempts/:id/commands',
    { preValidation: staff, schema: { params: ManageAttemptParams } },
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
    { preValidation: staff, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const html = reviews.exportHtml(request.params.id, userId(request));
      return download(reply, 'text/html; charset=utf-8', `opslab-${request.params.id}.html`).send(html);
    },
  );

  app.get(
    '/api/manage/attempts/:id/export.json',
    { preValidation: staff, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const data = reviews.exportData(request.params.id, userId(request));
      return download(reply, 'application/json; charset=utf-8', `opslab-${request.params.id}.json`).send(
        JSON.stringify(data, null, 2),
      );
    },
  );

  app.put(
    '/api/manage/attempts/:id/review',
    {
      preValidation: staff,
      schema: { params: ManageAttemptParams, body: ReviewInput },
    },
    async (request: FastifyRequest<Id & { Body: ReviewInput }>) => ({
      review: reviews.saveReview(request.params.id, userId(request), request.body),
    }),
  );

  app.delete(
    '/api/manage/attempts/:id',
    { preValidation: staff, schema: { params: ManageAttemptParams } },
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
      schema: { params: ManageAttemptParams },
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
        socket.close(CLOSE_CODES.serverError, 'The terminal could not be opened.');
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
