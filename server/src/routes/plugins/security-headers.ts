import { appWide } from './app-wide.js';

// xterm.js injects <style> elements, hence 'unsafe-inline' for styles only.
// The review page's replay (asciinema-player) compiles its WebAssembly terminal: 'wasm-unsafe-eval'.
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'";

/** The headers every answer carries, pages and API alike. */
export const securityHeaders = appWide(async (app) => {
  app.addHook('onSend', async (request, reply, payload) => {
    // API answers depend on who asks and change with every action: never cached (a cached 410 of one invite
    // would answer for the next).
    if (request.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    return payload;
  });
});
