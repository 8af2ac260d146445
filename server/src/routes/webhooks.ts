import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Auth } from '../auth/index.js';
import {
  CreateWebhookBody,
  UpdateWebhookBody,
  WebhookDeliveryParams,
  WebhookParams,
} from '../../../contract/webhooks.js';
import type { WebhookService } from '../webhooks/service.js';
import { staffGuard } from './staff-guard.js';

export interface WebhookRoutesOptions {
  auth: Auth;
  webhooks: WebhookService;
}

type Id = { Params: WebhookParams };

/** Admin routes: webhook endpoints and their delivery logs (docs/api.md, "Webhooks"). */
export async function webhookRoutes(app: FastifyInstance, opts: WebhookRoutesOptions): Promise<void> {
  const { auth, webhooks } = opts;
  // Before validation, so that a caller without an admin session learns nothing from the shape of their request.
  const admin = staffGuard(auth, ['admin']);
  const userId = (request: FastifyRequest) => request.user!.id;

  app.get('/api/manage/webhooks', { preValidation: admin }, async () => ({ webhooks: await webhooks.list() }));

  // The secret is in this answer (and a rotation's) only.
  app.post(
    '/api/manage/webhooks',
    { preValidation: admin, schema: { body: CreateWebhookBody } },
    async (request: FastifyRequest<{ Body: CreateWebhookBody }>, reply: FastifyReply) =>
      reply.code(201).send({ webhook: await webhooks.create(request.body, userId(request)) }),
  );

  app.get(
    '/api/manage/webhooks/:id',
    { preValidation: admin, schema: { params: WebhookParams } },
    async (request: FastifyRequest<Id>) => ({ webhook: await webhooks.get(request.params.id) }),
  );

  app.patch(
    '/api/manage/webhooks/:id',
    { preValidation: admin, schema: { params: WebhookParams, body: UpdateWebhookBody } },
    async (request: FastifyRequest<Id & { Body: UpdateWebhookBody }>) => ({
      webhook: await webhooks.update(request.params.id, request.body, userId(request)),
    }),
  );

  app.post(
    '/api/manage/webhooks/:id/secret',
    { preValidation: admin, schema: { params: WebhookParams } },
    async (request: FastifyRequest<Id>) => ({ webhook: await webhooks.rotateSecret(request.params.id, userId(request)) }),
  );

  app.delete(
    '/api/manage/webhooks/:id',
    { preValidation: admin, schema: { params: WebhookParams } },
    async (request: FastifyRequest<Id>, reply: FastifyReply) => {
      await webhooks.delete(request.params.id, userId(request));
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/manage/webhooks/:id/deliveries',
    { preValidation: admin, schema: { params: WebhookParams } },
    async (request: FastifyRequest<Id>) => ({ deliveries: webhooks.deliveries(request.params.id) }),
  );

  app.post(
    '/api/manage/webhooks/:id/deliveries/:deliveryId/resend',
    { preValidation: admin, schema: { params: WebhookDeliveryParams } },
    async (request: FastifyRequest<{ Params: WebhookDeliveryParams }>) => ({
      delivery: await webhooks.resend(request.params.id, request.params.deliveryId, userId(request)),
    }),
  );
}
