import type { FastifyInstance } from 'fastify';
import type { AuthService } from '../auth/service.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  secureCookies: boolean;
}

/** /api/auth/* and the admin's /api/manage/users and /api/manage/audit. */
export async function authRoutes(_app: FastifyInstance, _opts: AuthRoutesOptions): Promise<void> {}
