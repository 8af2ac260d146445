import type { FastifyRequest } from 'fastify';

/**
 * Whether a browser request's Origin may act on this server: the origin the request was sent to (its Host),
 * or one of the configured origins. Requests without an Origin come from non-browser clients, which cannot be
 * used for cross-site request forgery; they still need a token.
 */
export function originAllowed(request: FastifyRequest, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.origin === 'null') return false;
  if (allowed.includes(url.origin)) return true;
  const host = request.headers.host?.toLowerCase();
  return host !== undefined && url.host.toLowerCase() === host && (url.protocol === 'http:' || url.protocol === 'https:');
}

export const attemptCookieName = (attemptId: string) => `opslab_attempt_${attemptId}`;

/** The attempt token a request presents: the Authorization bearer token or the attempt's cookie. */
export function presentedToken(request: FastifyRequest, attemptId: string): string | undefined {
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  return request.cookies[attemptCookieName(attemptId)];
}
