import type { FastifyRequest } from 'fastify';
import { API_TOKEN_PREFIX, type ApiScope } from '../../../contract/api-tokens.js';
import type { Auth, Role, StaffUser } from '../auth/index.js';
import { sessionId } from './cookies.js';

/**
 * A preValidation hook for staff routes: the session cookie, the role, and the CSRF header on requests that change
 * something. Runs before validation, so a caller without a session learns nothing from the shape of their request;
 * on a WebSocket route it runs before the upgrade. Sets request.user.
 *
 * An `Authorization: Bearer opslab_pat_…` header is an API token (never a session, never from a cookie): accepted only
 * where the route names a `scope` the token holds (403 elsewhere), without a CSRF header, and refused together with a
 * session cookie (400).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one hook shared by routes of every request type
export type StaffHook = (request: FastifyRequest<any>) => Promise<void>;

export function staffGuard(auth: Pick<Auth, 'authenticate'>, roles: readonly Role[], scope?: ApiScope): StaffHook {
  return async (request: FastifyRequest): Promise<void> => {
    const csrf = request.headers['x-csrf-token'];
    request.user = await auth.authenticate(
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

/**
 * The API token of an `Authorization: Bearer opslab_pat_…` header. Other Authorization headers (a proxy's own Basic
 * sign-in in front of opslab, an attempt token) are not ours to judge here: the session decides, as without one.
 */
function bearerOf(request: FastifyRequest): string | undefined {
  const match = /^Bearer +(\S{1,200})\s*$/i.exec(request.headers.authorization ?? '');
  return match && match[1]!.startsWith(API_TOKEN_PREFIX) ? match[1] : undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: StaffUser;
  }
}
