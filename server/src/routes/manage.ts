import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AttemptService } from '../attempts/attempt-service.js';
import type { Auth } from '../auth/index.js';
import {
  ATTEMPT_LIST_LIMITS,
  AttemptListQuery,
  CommandPageQuery,
  ConfirmationInput,
  ConfirmationParams,
  CreateInviteBody,
  ExerciseParams,
  ExtendInviteBody,
  InviteListQuery,
  InviteParams,
  ManageAttemptParams,
  ReviewInput,
  type IdParams,
} from '../../../contract/index.js';
import { ERROR_CODES } from '../../../contract/errors.js';
import { errors, OpslabError } from '../errors.js';
import type { InviteService } from '../invites/invite-service.js';
import type { AttemptExportFilter } from '../review/attempts-csv.js';
import type { ReviewService } from '../review/review-service.js';
import { download, sendRecording } from './downloads.js';
import { pageOf } from './pages.js';
import { staffGuard } from './staff-guard.js';
import { terminalRoute } from './terminal-socket.js';

export interface ManageRoutesOptions {
  auth: Auth;
  attempts: AttemptService;
  invites: InviteService;
  reviews: ReviewService;
}

type Id = { Params: IdParams };

/** A number of the attempts list's query (digits, checked by the schema) within its bounds. */
function listNumber(v: string | undefined, name: string, bounds: { min: number; max: number }): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (n < bounds.min || n > bounds.max) throw errors.badRequest(`${name} must be from ${bounds.min} to ${bounds.max}.`);
  return n;
}

/** The attempts list's filter and sort (the dashboard's, and its CSV export's). */
function attemptFilter(q: AttemptListQuery): AttemptExportFilter {
  const { score } = ATTEMPT_LIST_LIMITS;
  return {
    mode: q.mode ?? 'interview',
    state: q.state,
    exerciseId: q.exerciseId,
    interviewer: q.interviewer,
    minScore: listNumber(q.minScore, 'minScore', score),
    maxScore: listNumber(q.maxScore, 'maxScore', score),
    sort: q.sort ?? 'createdAt',
    order: q.order ?? 'desc',
  };
}

/** Interviewer routes: invites, the dashboard, the review of an attempt, exports, deletion and the live view. */
export async function manageRoutes(app: FastifyInstance, opts: ManageRoutesOptions): Promise<void> {
  const { auth, attempts, invites, reviews } = opts;
  // Before validation, so that a caller without a session learns nothing from the shape of their request.
  // Routes an API token may use name its scope (contract/api-tokens.ts); the others are for sessions only.
  const STAFF = ['admin', 'interviewer'] as const;
  const staff = staffGuard(auth, STAFF);
  const invitesWrite = staffGuard(auth, STAFF, 'invites:write');
  const attemptsRead = staffGuard(auth, STAFF, 'attempts:read');
  const reviewsRead = staffGuard(auth, STAFF, 'reviews:read');
  const admin = staffGuard(auth, ['admin']);
  const userId = (request: FastifyRequest) => request.user!.id;

  // ---- invites (API tokens: invites:write) --------------------------------------------------------------------
  // The link is in the creation's answer (and a reissue's) only; no other staff answer holds a working token.
  // Revoke, extend and reissue: the invite's creator or an admin (403 otherwise); each is audited.
  app.post(
    '/api/manage/invites',
    {
      preValidation: invitesWrite,
      schema: { body: CreateInviteBody },
    },
    async (request: FastifyRequest<{ Body: CreateInviteBody }>, reply: FastifyReply) => {
      const { invite, link } = await invites.create(request.body, userId(request));
      return reply.code(201).send({ invite: await invites.created(invite, link, request.user!) });
    },
  );

  app.get(
    '/api/manage/invites',
    {
      preValidation: invitesWrite,
      schema: { querystring: InviteListQuery },
    },
    async (request: FastifyRequest<{ Querystring: InviteListQuery }>) => ({
      invites: await invites.list(request.user!, request.query),
    }),
  );

  app.post(
    '/api/manage/invites/:id/revoke',
    { preValidation: invitesWrite, schema: { params: InviteParams } },
    async (request: FastifyRequest<Id>) => ({ invite: await invites.view(await invites.revoke(request.params.id, request.user!), request.user!) }),
  );

  app.post(
    '/api/manage/invites/:id/extend',
    {
      preValidation: invitesWrite,
      schema: { params: InviteParams, body: ExtendInviteBody },
    },
    async (request: FastifyRequest<Id & { Body: ExtendInviteBody }>) => ({
      invite: await invites.view(await invites.extend(request.params.id, request.body.minutes, request.user!), request.user!),
    }),
  );

  app.post(
    '/api/manage/invites/:id/reissue',
    { preValidation: invitesWrite, schema: { params: InviteParams } },
    async (request: FastifyRequest<Id>) => {
      const { invite, link } = await invites.reissue(request.params.id, request.user!);
      return { invite: await invites.created(invite, link, request.user!) };
    },
  );

  // ---- attempts (API tokens: attempts:read for the list, the CSV, the grade and the recording; reviews:read for
  // ---- the review bundle, diff, commands and exports; changes are for sessions only) ----------------------------
  app.get(
    '/api/manage/attempts',
    {
      preValidation: attemptsRead,
      schema: { querystring: AttemptListQuery },
    },
    async (request: FastifyRequest<{ Querystring: AttemptListQuery }>) => {
      const q = request.query;
      const { page, pageSize } = ATTEMPT_LIST_LIMITS;
      return reviews.list({
        ...attemptFilter(q),
        page: listNumber(q.page, 'page', page) ?? 1,
        pageSize: listNumber(q.pageSize, 'pageSize', pageSize) ?? pageSize.default,
      });
    },
  );

  // Every attempt of the list's filter as one CSV file (no pages; page and pageSize are checked, not used).
  app.get(
    '/api/manage/attempts/export.csv',
    // No HEAD twin: every export is read in full and audited, which a HEAD must not do.
    { preValidation: attemptsRead, schema: { querystring: AttemptListQuery }, exposeHeadRoute: false },
    async (request: FastifyRequest<{ Querystring: AttemptListQuery }>, reply: FastifyReply) => {
      const q = request.query;
      listNumber(q.page, 'page', ATTEMPT_LIST_LIMITS.page);
      listNumber(q.pageSize, 'pageSize', ATTEMPT_LIST_LIMITS.pageSize);
      const file = await reviews.csv.export(attemptFilter(q), userId(request));
      return download(reply, 'text/csv; charset=utf-8', file.filename).send(Readable.from(file.chunks, { objectMode: false }));
    },
  );

  app.get(
    '/api/manage/attempts/:id',
    { preValidation: reviewsRead, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>) => reviews.bundle(request.params.id, userId(request)),
  );

  // The attempt and its current grade with each check: what an applicant-tracking system needs, without the review.
  app.get(
    '/api/manage/attempts/:id/grade',
    { preValidation: attemptsRead, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>) => {
      const { attempt, candidate, exercise, grading } = await reviews.bundle(request.params.id, userId(request));
      return { attempt, candidate, exercise, grading };
    },
  );

  app.get(
    '/api/manage/attempts/:id/recording',
    { preValidation: attemptsRead, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const attempt = await attempts.get(request.params.id);
      if (!attempt) throw errors.attemptNotFound();
      return sendRecording(reply, attempts, attempt, request.query);
    },
  );

  app.get(
    '/api/manage/attempts/:id/diff',
    { preValidation: reviewsRead, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>) => {
      const diff = await reviews.diff(request.params.id);
      if (!diff) throw errors.diffMissing();
      return diff;
    },
  );

  app.get(
    '/api/manage/attempts/:id/commands',
    { preValidation: reviewsRead, schema: { params: ManageAttemptParams, querystring: CommandPageQuery } },
    async (request: FastifyRequest<Id & { Querystring: CommandPageQuery }>) => reviews.commands(request.params.id, pageOf(request.query)),
  );

  app.get(
    '/api/manage/attempts/:id/signals',
    { preValidation: reviewsRead, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>) => reviews.signals(request.params.id),
  );

  // Downloads, named after the candidate's attempt.
  app.get(
    '/api/manage/attempts/:id/export.html',
    { preValidation: reviewsRead, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const html = await reviews.exportHtml(request.params.id, userId(request));
      return download(reply, 'text/html; charset=utf-8', `opslab-${request.params.id}.html`).send(html);
    },
  );

  app.get(
    '/api/manage/attempts/:id/export.json',
    { preValidation: reviewsRead, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const data = await reviews.exportData(request.params.id, userId(request));
      return download(reply, 'application/json; charset=utf-8', `opslab-${request.params.id}.json`).send(
        JSON.stringify(data, null, 2),
      );
    },
  );

  app.get(
    '/api/manage/attempts/:id/export.junit.xml',
    { preValidation: reviewsRead, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const xml = await reviews.exportJUnit(request.params.id);
      if (xml === null) throw new OpslabError(ERROR_CODES.notGraded, 409, 'This attempt has no final grading yet.');
      return download(reply, 'application/xml; charset=utf-8', `opslab-${request.params.id}.junit.xml`).send(xml);
    },
  );

  app.put(
    '/api/manage/attempts/:id/review',
    {
      preValidation: staff,
      schema: { params: ManageAttemptParams, body: ReviewInput },
    },
    async (request: FastifyRequest<Id & { Body: ReviewInput }>) => ({
      review: await reviews.saveReview(request.params.id, userId(request), request.body),
    }),
  );

  // ---- advisory checks: a reviewer confirms or overrides the grader's preliminary verdict, or withdraws that ----
  type Confirm = { Params: ConfirmationParams };
  app.put(
    '/api/manage/attempts/:id/checks/:checkId/confirmation',
    { preValidation: staff, schema: { params: ConfirmationParams, body: ConfirmationInput } },
    async (request: FastifyRequest<Confirm & { Body: ConfirmationInput }>) => {
      const { id, checkId } = request.params;
      await reviews.advisory.confirm(id, checkId, request.body, userId(request));
      const { grading, gradings } = await reviews.bundle(id, userId(request));
      return { grading, gradings };
    },
  );

  app.delete(
    '/api/manage/attempts/:id/checks/:checkId/confirmation',
    { preValidation: staff, schema: { params: ConfirmationParams } },
    async (request: FastifyRequest<Confirm>) => {
      const { id, checkId } = request.params;
      await reviews.advisory.withdraw(id, checkId, userId(request));
      const { grading, gradings } = await reviews.bundle(id, userId(request));
      return { grading, gradings };
    },
  );

  // ---- regrading: the final grading again, from the stored snapshot, with the exercise's current checks ------
  app.post(
    '/api/manage/attempts/:id/regrade',
    { preValidation: staff, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>) => {
      const attempt = await attempts.get(request.params.id);
      if (!attempt) throw errors.attemptNotFound();
      const pending = attempts.regrader.regrade(attempt.id, userId(request));
      // Together: a regrade that fails while the entry is written is still handled here.
      await Promise.all([
        pending,
        auth.audit({ userId: userId(request), action: 'attempt.regrade', attemptId: attempt.id, inviteId: attempt.inviteId, detail: { exerciseId: attempt.exerciseId } }),
      ]);
      return { gradings: (await reviews.bundle(attempt.id, userId(request))).gradings };
    },
  );

  app.post(
    '/api/manage/exercises/:id/regrade',
    // Every attempt of an exercise: admins only.
    { preValidation: admin, schema: { params: ExerciseParams } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const result = await attempts.regrader.regradeExercise(request.params.id, userId(request));
      await auth.audit({ userId: userId(request), action: 'exercise.regrade', detail: { exerciseId: request.params.id, queued: result.queued.length, skipped: result.skipped.length } });
      return reply.code(202).send(result);
    },
  );

  app.delete(
    '/api/manage/attempts/:id',
    { preValidation: staff, schema: { params: ManageAttemptParams } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      const attempt = await attempts.get(request.params.id);
      if (!attempt) throw errors.attemptNotFound();
      await invites.assertCanDeleteAttempt(attempt, request.user!);
      await attempts.deleteAttempt(attempt.id);
      await auth.audit({
        userId: userId(request),
        action: 'attempt.delete',
        attemptId: attempt.id,
        inviteId: attempt.inviteId,
        detail: { exerciseId: attempt.exerciseId, state: attempt.state },
      });
      return reply.code(204).send();
    },
  );

  terminalRoute(app, {
    url: '/api/manage/attempts/:id/live',
    attempts,
    readOnly: true,
    guards: [staff],
    access: async (request) => {
      const attempt = await attempts.get(request.params.id);
      if (!attempt) throw errors.attemptNotFound();
      return attempt;
    },
  });
}
