import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OidcStartQuery } from '../../../contract/index.js';
import { OidcService, REDIRECT_PATH, SsoRefusal } from '../auth/oidc.js';
import { setSessionCookie } from './cookies.js';

export interface OidcRoutesOptions {
  oidc: OidcService;
  secureCookies: boolean;
}

/**
 * The cookie that binds a sign-in to the browser that began it: HttpOnly, SameSite=Lax (the provider's redirect
 * back is a top-level navigation from another site, which a Strict cookie would not follow), only sent to these
 * two routes, and as short-lived as the sign-in.
 */
export const OIDC_COOKIE = 'opslab_oidc';
const OIDC_COOKIE_PATH = '/api/auth/oidc';

/**
 * Where to go after signing in: a path under /manage on this site, else /manage (the login page's rule, as in
 * web/src/manage/session.ts).
 */
export function safeNext(next: string | undefined): string {
  if (!next || !/^\/manage(?:[/?#]|$)/.test(next) || next.includes('\\')) return '/manage';
  let url: URL;
  try {
    url = new URL(next, 'http://opslab.invalid');
  } catch {
    return '/manage';
  }
  if (url.origin !== 'http://opslab.invalid' || !/^\/manage(?:\/|$)/.test(url.pathname)) return '/manage';
  return url.pathname + url.search + url.hash;
}

/**
 * A request as the server's log shows it (Fastify's fields), without the query string of the single sign-on
 * callback: its `code` and `state` are secrets while the sign-in is under way.
 */
export function loggedRequest(request: FastifyRequest): Record<string, unknown> {
  const url = request.url.startsWith(`${REDIRECT_PATH}?`) ? `${REDIRECT_PATH}?…` : request.url;
  return {
    method: request.method,
    url,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** GET /api/auth/oidc/start and GET /api/auth/oidc/callback: single sign-on through the OpenID Connect provider. */
export async function oidcRoutes(app: FastifyInstance, opts: OidcRoutesOptions): Promise<void> {
  const { oidc, secureCookies } = opts;
  const cookie = { httpOnly: true, sameSite: 'lax', secure: secureCookies, path: OIDC_COOKIE_PATH } as const;
  const backToLogin = (reply: FastifyReply, reason: string) =>
    reply.code(302).header('cache-control', 'no-store').header('location', `/login?sso=${reason}`).send();

  app.get<{ Querystring: OidcStartQuery }>(
    '/api/auth/oidc/start',
    { schema: { querystring: OidcStartQuery } },
    async (request, reply) => {
      let start;
      try {
        start = await oidc.begin(safeNext(request.query.next), request.ip);
      } catch (err) {
        if (err instanceof SsoRefusal) {
          request.log.warn({ reason: err.reason }, 'single sign-on refused');
          return backToLogin(reply, err.reason);
        }
        request.log.warn({ err: { name: (err as Error).name, message: (err as Error).message } }, 'single sign-on could not begin');
        return backToLogin(reply, 'unavailable');
      }
      reply.setCookie(OIDC_COOKIE, start.browserKey, { ...cookie, maxAge: start.maxAgeSeconds });
      return reply.code(302).header('cache-control', 'no-store').header('location', start.authorizationUrl).send();
    },
  );

  app.get(REDIRECT_PATH, async (request: FastifyRequest, reply) => {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    // The binding cookie is spent whatever the outcome.
    reply.clearCookie(OIDC_COOKIE, cookie);
    try {
      const signedIn = await oidc.finish(query, request.cookies[OIDC_COOKIE], request.ip);
      setSessionCookie(reply, signedIn.session, secureCookies);
      return reply.code(302).header('cache-control', 'no-store').header('location', signedIn.next).send();
    } catch (err) {
      if (err instanceof SsoRefusal) {
        request.log.warn({ reason: err.reason }, 'single sign-on refused');
        return backToLogin(reply, err.reason);
      }
      request.log.error({ err: { name: (err as Error).name, message: (err as Error).message } }, 'single sign-on failed');
      return backToLogin(reply, 'token');
    }
  });
}
