import type { FastifyRequest } from 'fastify';
import type { ApiScope } from '../../../contract/api-tokens.js';
import type { Auth, Role, StaffUser } from '../auth/index.js';
import { sessionId } from './cookies.js';

/**
 * A preValidation hook for staff routes: the session cookie, the role, and the CSRF header on requests that change
 * something. Runs before validation, so a caller without a session learns nothing from the shape of their request;
 * on a WebSocket route it runs before the upgrade. Sets request.user.
 *
 * An `Authorization: Bearer` header is an API token (never a session, never from a cookie): accepted only where the
 * route names a `scope` the token holds (403 elsewhere), without a CSRF header, and refused together with a session
 * cookie (400).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one hook shared by routes of every request type
export type StaffHook = (request: FastifyRequest<any>) => Promise<void>;

export function staffGuard(auth: Pick<Auth, 'authenticate'>, roles: readonly Role[], scope?: ApiScope): StaffHook {
  return async (request: FastifyRequest): Promise<void> => {
    const csrf = request.headers['x-csrf-token'];
    request.user = auth.authenticate(
      {
        sessionId: sessionId(request),
        csrfToken: typeof csrf === 'string' ? csrf : undefined,
        changes: request.method !== 'GET' && request.method !== 'HEAD',
        bearer: bearerOf(request),
      },
      roles,
      scope,
    );
  };
}

/** The value of an `Authorization: Bearer …` header (any other Authorization scheme counts as a bad token). */
function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S{1,200})\s*$/i.exec(header);
  return match ? match[1]! : '';
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: StaffUser;
  }
}
