import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiTokenParams, CreateApiTokenBody } from '../../../contract/index.js';
import type { ApiTokenService } from '../auth/api-tokens.js';
import type { Auth } from '../auth/index.js';
import { staffGuard } from './staff-guard.js';

export interface ApiTokenRoutesOptions {
  auth: Pick<Auth, 'authenticate'>;
  tokens: ApiTokenService;
}

/**
 * /api/manage/tokens: admins (in a signed-in session: no API token ever reaches these) list, create and revoke API
 * tokens. A creation's answer holds the secret, this once; no other answer does.
 */
export async function apiTokenRoutes(app: FastifyInstance, opts: ApiTokenRoutesOptions): Promise<void> {
  const { tokens } = opts;
  const admin = staffGuard(opts.auth, ['admin']);

  app.get('/api/manage/tokens', { preValidation: admin }, async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ tokens: await tokens.list() }),
  );

  app.post(
    '/api/manage/tokens',
    { preValidation: admin, schema: { body: CreateApiTokenBody } },
    async (request: FastifyRequest<{ Body: CreateApiTokenBody }>, reply: FastifyReply) =>
      reply.code(201).header('cache-control', 'no-store').send(await tokens.create(request.user!, request.body)),
  );

  app.post(
    '/api/manage/tokens/:id/revoke',
    { preValidation: admin, schema: { params: ApiTokenParams } },
    async (request: FastifyRequest<{ Params: { id: string } }>) => ({ token: await tokens.revoke(request.user!, request.params.id) }),
  );
}
