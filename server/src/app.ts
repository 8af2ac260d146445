import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import { repoRoot } from './paths.js';
import { createServices, type ServiceOptions, type Services } from './services.js';
import { attemptRoutes } from './routes/attempts.js';
import { authRoutes } from './routes/auth.js';
import { apiTokenRoutes } from './routes/api-tokens.js';
import { withActorScope } from './auth/actor.js';
import { catalogRoutes } from './routes/catalog.js';
import { inviteRoutes } from './routes/invite.js';
import { manageRoutes } from './routes/manage.js';
import { webhookRoutes } from './routes/webhooks.js';
import { loggedRequest, oidcRoutes } from './routes/oidc.js';
import { errorHandling, frameworkErrors } from './routes/plugins/errors.js';
import { originCheck } from './routes/plugins/origin-check.js';
import { securityHeaders } from './routes/plugins/security-headers.js';
import { webSockets } from './routes/plugins/websocket.js';
import { webUi } from './routes/plugins/web-ui.js';

export { sandboxImageRef, type Services } from './services.js';

export interface AppOptions extends ServiceOptions {
  logger?: boolean | object;
}

const VERSION = (JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string })
  .version;

/** Builds the app without listening (tests use inject or listen on port 0; main.ts owns listen and close). */
export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; services: Services }> {
  const { config } = opts;
  const logger = opts.logger ?? { level: config.logLevel };
  const app = Fastify({
    // Request lines never carry the provider's authorization code and state (the single sign-on callback's query).
    logger: typeof logger === 'object' ? { ...logger, serializers: { req: loggedRequest } } : logger,
    bodyLimit: 64 * 1024,
    // The client's address (login limits, audit) comes from X-Forwarded-For only when the peer is a trusted proxy.
    trustProxy: config.trustProxy === false ? false : config.trustProxy,
    // Ids come from the path; keep requests that do not match a route short and boring.
    routerOptions: { maxParamLength: 200 },
    // Bad input is refused, not repaired: no type coercion, no silent removal of unknown fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
    frameworkErrors,
  });

  const services = await createServices(opts, app.log);
  // The exercises published from git before a restart are served again before any request is.
  await services.publisher?.restore();
  const { attempts, auth, catalog, sql, diskWatch, driver, files, invites, oomWatch, practice, reviews } = services;
  app.addHook('onReady', async () => {
    diskWatch.start();
    oomWatch.start();
    services.webhooks.start();
    services.publisher?.start();
  });
  app.addHook('preClose', async () => {
    // First: a pass while the server winds down would take what it is closing for strays.
    await attempts.stopReconciling();
    await services.publisher?.stop();
    oomWatch.stop();
    await diskWatch.stop();
    await services.webhooks.stop();
  });

  const secureCookies = new URL(config.publicUrl).protocol === 'https:';
  // Each request's own audit actor (an API token's name), from after its body was read to its answer.
  app.addHook('preValidation', (_request, _reply, done) => withActorScope(done));
  await app.register(errorHandling);
  await app.register(securityHeaders);
  await app.register(fastifyCookie);
  await app.register(webSockets, { beforeClose: () => attempts.shutdown() });
  // After the WebSocket plugin, whose own hooks must see refused upgrades to close their sockets.
  await app.register(originCheck, { allowedOrigins: config.allowedOrigins });

  await app.register(catalogRoutes, { catalog, practice, auth, driver, version: VERSION, dataUsage: () => attempts.dataUsage(), grading: () => attempts.gradingStats(), publisher: services.publisher, exercisesDir: config.exercisesDir });
  await app.register(attemptRoutes, { attempts, catalog, invites, practice, reviews, secureCookies, files, transfer: services.transfer, signals: services.signals });
  await app.register(inviteRoutes, { attempts, invites, secureCookies, landing: config.inviteLanding });
  await app.register(manageRoutes, { auth, attempts, invites, reviews });
  await app.register(authRoutes, {
    auth,
    secureCookies,
    signIn: { password: config.passwordLogin, sso: services.oidc ? { name: services.oidc.name } : null },
  });
  if (services.oidc) await app.register(oidcRoutes, { oidc: services.oidc, secureCookies });
  await app.register(apiTokenRoutes, { auth, tokens: auth.apiTokens });
  await app.register(webhookRoutes, { auth, webhooks: services.webhooks });
  await app.register(webUi, { webDir: config.webDir });

  // Shells were detached in the WebSocket plugin's preClose; only the database is left.
  app.addHook('onClose', async () => {
    await sql.close();
  });

  return { app, services };
}
