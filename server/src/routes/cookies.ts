import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NewSession } from '../auth/service.js';
import { PRACTICE_COOKIE } from '../practice/practice-service.js';
import type { Attempt } from '../store/attempts-repo.js';

// Every cookie opslab sets: HttpOnly, SameSite=Strict, Secure when the public URL is https.

export const SESSION_COOKIE = 'opslab_session';
export { PRACTICE_COOKIE };

export const attemptCookieName = (attemptId: string) => `opslab_attempt_${attemptId}`;

const base = (secure: boolean) => ({ httpOnly: true, sameSite: 'strict', secure }) as const;

/** The attempt token, scoped to the attempt's own routes (and its terminal WebSocket). */
export function setAttemptCookie(
  reply: FastifyReply,
  attempt: Pick<Attempt, 'id' | 'timeLimitSeconds'>,
  token: string,
  secure: boolean,
): FastifyReply {
  return reply.setCookie(attemptCookieName(attempt.id), token, {
    ...base(secure),
    path: `/api/attempts/${attempt.id}`,
    maxAge: Math.max(3600, attempt.timeLimitSeconds * 4),
  });
}

/** The trainee's anonymous practice token: a year, for the whole API. */
export function setPracticeCookie(reply: FastifyReply, token: string, secure: boolean): FastifyReply {
  return reply.setCookie(PRACTICE_COOKIE, token, { ...base(secure), path: '/api', maxAge: 365 * 86_400 });
}

export function setSessionCookie(reply: FastifyReply, session: NewSession, secure: boolean): FastifyReply {
  return reply.setCookie(SESSION_COOKIE, session.id, { ...base(secure), path: '/', maxAge: session.maxAgeSeconds });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): FastifyReply {
  return reply.clearCookie(SESSION_COOKIE, { ...base(secure), path: '/' });
}

/** The `Authorization: Bearer` token of a request, if any. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
}

/** The attempt token a request presents: the Authorization bearer token or the attempt's cookie. */
export function presentedToken(request: FastifyRequest, attemptId: string): string | undefined {
  return bearerToken(request) ?? request.cookies[attemptCookieName(attemptId)];
}

export const practiceToken = (request: FastifyRequest): string | undefined => request.cookies[PRACTICE_COOKIE];
export const sessionId = (request: FastifyRequest): string | undefined => request.cookies?.[SESSION_COOKIE];
