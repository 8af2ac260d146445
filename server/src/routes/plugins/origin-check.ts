import type { FastifyRequest } from 'fastify';
import { appWide } from './app-wide.js';
import { ERROR_CODES } from '../../../../contract/errors.js';

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

/**
 * Cross-site requests from other origins may not change anything, nor open a WebSocket (the cookies are
 * SameSite=Strict too). Register after the WebSocket plugin, whose own hooks must see refused upgrades to close
 * their sockets.
 */
export const originCheck = appWide<{ allowedOrigins: readonly string[] }>(async (app, opts) => {
  app.addHook('onRequest', async (request, reply) => {
    const changes = request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS';
    const upgrade = request.headers.upgrade?.toLowerCase() === 'websocket';
    if ((changes || upgrade) && !originAllowed(request, opts.allowedOrigins)) {
      return reply.code(403).send({
        error: { code: ERROR_CODES.origin, message: `Requests from origin ${request.headers.origin} are not allowed.` },
      });
    }
  });
});
