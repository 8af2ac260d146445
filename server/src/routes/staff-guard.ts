import type { FastifyRequest } from 'fastify';
import type { Auth, Role, StaffUser } from '../auth/index.js';
import { sessionId } from './cookies.js';

/**
 * A preValidation hook for staff routes: the session cookie (never an Authorization header), the role, and the
 * CSRF header on requests that change something. Runs before validation, so a caller without a session learns
 * nothing from the shape of their request; on a WebSocket route it runs before the upgrade. Sets request.user.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one hook shared by routes of every request type
export type StaffHook = (request: FastifyRequest<any>) => Promise<void>;

export function staffGuard(auth: Pick<Auth, 'authenticate'>, roles: readonly Role[]): StaffHook {
  return async (request: FastifyRequest): Promise<void> => {
    const csrf = request.headers['x-csrf-token'];
    request.user = auth.authenticate(
      {
        sessionId: sessionId(request),
        csrfToken: typeof csrf === 'string' ? csrf : undefined,
        changes: request.method !== 'GET' && request.method !== 'HEAD',
      },
      roles,
    );
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: StaffUser;
  }
}
