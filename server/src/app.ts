import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import { CLOSE_CODES, ExerciseParams, MAX_CLIENT_FRAME_BYTES, type Static } from '../../contract/index.js';
import type { Config } from './config.js';
import { OpslabError } from './errors.js';
import { openDatabase, instanceId, serverSecret, type Db } from './store/db.js';
import { AttemptsRepo } from './store/attempts-repo.js';
import { GradingRepo } from './store/grading-repo.js';
import type { ExerciseRunner } from './attempts/exercise-runner.js';
import { ExerciseCatalog, formatProblem } from './exercises/catalog.js';
import type { JobDriver } from './sandbox/sandbox-driver.js';
import { engineRunner } from './attempts/engine-runner.js';
import { DockerDriver } from './sandbox/drivers/docker/docker-driver.js';
import { DiskWatch } from './sandbox/disk-watch.js';
import { OomWatch } from './sandbox/oom-watch.js';
import { effectiveLimits } from './sandbox/policy.js';
import { AttemptService } from './attempts/attempt-service.js';
import { attemptRoutes } from './routes/attempts.js';
import { authRoutes } from './routes/auth.js';
import { inviteRoutes } from './routes/invite.js';
import { manageRoutes } from './routes/manage.js';
import { InviteService } from './invites/invite-service.js';
import { PracticeService } from './practice/practice-service.js';
import { ReviewService } from './review/review-service.js';
import { InvitesRepo } from './store/invites-repo.js';
import { ReviewsRepo } from './store/reviews-repo.js';
import { AuthService } from './auth/service.js';
import { originAllowed } from './routes/security.js';
import { repoRoot } from './paths.js';

export interface AppOptions {
  config: Config;
  /** Defaults to the Docker driver on the engine DOCKER_HOST names. */
  driver?: (instance: string) => JobDriver;
  /** Maps an exercise's image name to an engine image reference. */
  imageRef?: (image: string) => string;
  logger?: boolean | object;
  /** Extra labels on every sandbox (tests mark what they create). */
  sandboxLabels?: Record<string, string>;
  runner?: ExerciseRunner;
}

export interface Services {
  config: Config;
  db: Db;
  driver: JobDriver;
  catalog: ExerciseCatalog;
  attempts: AttemptService;
  auth: AuthService;
  invites: InviteService;
  reviews: ReviewService;
  practice: PracticeService;
  /** The per-attempt disk quota (runs while the app is ready). */
  diskWatch: DiskWatch;
  instance: string;
}

export const sandboxImageRef = (image: string) => `opslab/sandbox-${image}:latest`;

const VERSION = (JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string })
  .version;

/** Builds the app without listening (tests use inject or listen on port 0; main.ts owns listen and close). */
export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; services: Services }> {
  const { config } = opts;
  const app = Fastify({
    logger: opts.logger ?? { level: config.logLevel },
    bodyLimit: 64 * 1024,
    trustProxy: false,
    // Ids come from the path; keep requests that do not match a route short and boring.
    routerOptions: { maxParamLength: 200 },
    // Bad input is refused, not repaired: no type coercion, no silent removal of unknown fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
    // URLs the router refuses (a malformed percent escape, an id longer than maxParamLength) get the API's error
    // shape too, not Fastify's own.
    frameworkErrors: (error, _request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      void (reply as FastifyReply).code(status).send({ error: { code: 'OPSLAB_ERR_BAD_REQUEST', message: error.message } });
    },
  });

  const db = openDatabase(config.dataDir);
  const instance = instanceId(db);
  const driver = opts.driver
    ? opts.driver(instance)
    : new DockerDriver({ instance, policy: config.sandbox, extraLabels: opts.sandboxLabels ?? {} });
  const sandboxesDir = path.join(repoRoot(), 'sandboxes');
  const catalog = ExerciseCatalog.load(config.exercisesDir, {
    imageExists: (image) => fs.existsSync(path.join(sandboxesDir, image, 'Dockerfile')),
  });
  for (const problem of catalog.problems) app.log.error(`exercise left out: ${formatProblem(problem)}`);
  const repo = new AttemptsRepo(db);
  const grading = new GradingRepo(db);
  const imageRef = opts.imageRef ?? sandboxImageRef;
  const runner: ExerciseRunner =
    opts.runner ??
    engineRunner({
      driver,
      config,
      imageRef,
      labels: opts.sandboxLabels ?? {},
      log: (message, data) => app.log.info(data ?? {}, message),
    });
  const attempts = new AttemptService({
    config,
    repo,
    grading,
    runner,
    driver,
    catalog,
    log: app.log,
    imageRef,
  });
  const auth = new AuthService(db, config);
  const invites = new InviteService({
    repo: new InvitesRepo(db),
    attempts,
    catalog,
    config,
    auth,
    secret: serverSecret(db),
  });
  const reviews = new ReviewService({
    attempts,
    attemptsRepo: repo,
    grading,
    reviews: new ReviewsRepo(db),
    invites,
    catalog,
    auth,
  });
  const practice = new PracticeService({ config, attempts, repo, grading, catalog });
  const diskWatch = new DiskWatch({
    driver,
    repo,
    attempts,
    quotaBytes: config.sandbox.diskQuotaBytes,
    intervalMs: config.sandbox.diskIntervalMs,
    log: app.log,
  });
  const oomWatch = new OomWatch({
    driver,
    repo,
    attempts,
    memoryMb: (id) => effectiveLimits(config.sandbox, catalog.get(repo.get(id)?.exerciseId ?? '')?.limits).memoryMb,
    log: app.log,
  });
  app.addHook('onReady', async () => {
    diskWatch.start();
    oomWatch.start();
  });
  app.addHook('preClose', async () => {
    oomWatch.stop();
    await diskWatch.stop();
  });
  const services: Services = { config, db, driver, catalog, attempts, auth, invites, reviews, practice, diskWatch, instance };
  const secureCookies = new URL(config.publicUrl).protocol === 'https:';

  app.setErrorHandler((error: FastifyError | OpslabError, request, reply) => {
    if (error instanceof OpslabError) {
      for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
      return reply.code(error.statusCode).send({ error: { code: error.code, message: error.message } });
    }
    if (error.validation) {
      return reply
        .code(400)
        .send({ error: { code: 'OPSLAB_ERR_BAD_REQUEST', message: `Invalid request: ${error.message}` } });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status < 500) {
      return reply.code(status).send({ error: { code: 'OPSLAB_ERR_BAD_REQUEST', message: error.message } });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({
      error: { code: 'OPSLAB_ERR_INTERNAL', message: `Something went wrong on the server (request ${request.id}).` },
    });
  });

  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?')[0]!;
    const indexFile = path.join(config.webDir, 'index.html');
    // Page paths (no file extension) serve the app shell: the web UI routes on the client. A missing asset is a
    // plain 404, never HTML under a script's name.
    const isPage = !url.startsWith('/api/') && !/\.[a-z0-9]+$/i.test(url);
    if (request.method === 'GET' && isPage && fs.existsSync(indexFile)) {
      return reply.type('text/html').header('cache-control', 'no-cache').send(fs.createReadStream(indexFile));
    }
    return reply
      .code(404)
      .send({ error: { code: 'OPSLAB_ERR_NOT_FOUND', message: `No route for ${request.method} ${url}.` } });
  });

  app.addHook('onSend', async (request, reply, payload) => {
    // API answers depend on who asks and change with every action: never cached (a cached 410 of one invite
    // would answer for the next).
    if (request.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    // xterm.js injects <style> elements, hence 'unsafe-inline' for styles only.
    // The review page's replay (asciinema-player) compiles its WebAssembly terminal: 'wasm-unsafe-eval'.
    reply.header(
      'content-security-policy',
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'",
    );
    return payload;
  });

  await app.register(fastifyCookie);
  await app.register(fastifyWebsocket, {
    options: { maxPayload: MAX_CLIENT_FRAME_BYTES, perMessageDeflate: false },
    // A client that breaks the WebSocket protocol (bad opcode, oversized or unmasked frame) is its own problem:
    // one short warning, not an error with a stack trace per frame that anyone holding a token could repeat.
    errorHandler: (error, socket, request) => {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
        request.log.warn({ code, err: error.message }, 'WebSocket protocol error from the client; connection closed');
      } else {
        request.log.error({ err: error }, 'WebSocket handler failed');
      }
      socket.terminate();
    },
    // On close, terminals tell their browsers the server is restarting (1012) so they reconnect; the shells
    // keep running and the next server adopts them.
    preClose: async function (this: FastifyInstance) {
      await attempts.shutdown();
      for (const client of this.websocketServer.clients) client.close(CLOSE_CODES.goingAway, 'The server is shutting down.');
      await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
    },
  });

  // Cross-site requests from other origins may not change anything (the cookies are SameSite=Strict too).
  // Added after the WebSocket plugin, whose own hooks must see refused upgrades to close their sockets.
  app.addHook('onRequest', async (request, reply) => {
    const changes = request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS';
    const upgrade = request.headers.upgrade?.toLowerCase() === 'websocket';
    if ((changes || upgrade) && !originAllowed(request, config.allowedOrigins)) {
      return reply.code(403).send({
        error: { code: 'OPSLAB_ERR_ORIGIN', message: `Requests from origin ${request.headers.origin} are not allowed.` },
      });
    }
  });


  app.get('/api/health', async (_request, reply) => {
    const docker = (await driver.ping()) ? 'ok' : 'unreachable';
    return reply.code(docker === 'ok' ? 200 : 503).send({ status: docker === 'ok' ? 'ok' : 'degraded', docker, version: VERSION });
  });

  app.get('/api/exercises', async () => ({
    exercises: catalog.list().map(({ id, title, summary, difficulty, timeLimitMinutes, image, skills }) => ({
      id,
      title,
      summary,
      difficulty,
      timeLimitMinutes,
      image,
      skills,
    })),
  }));

  app.get(
    '/api/exercises/:id',
    {
      schema: { params: ExerciseParams },
    },
    async (request: FastifyRequest<{ Params: Static<typeof ExerciseParams> }>) => {
      const { id } = request.params;
      const exercise = catalog.get(id);
      if (!exercise) throw new OpslabError('OPSLAB_ERR_EXERCISE_NOT_FOUND', 404, `There is no exercise with id "${id}".`);
      // What anyone may see: never the hints' text, the variants' choices, the reference or wrong answers.
      return {
        exercise: {
          id: exercise.id,
          title: exercise.title,
          summary: exercise.summary,
          difficulty: exercise.difficulty,
          timeLimitMinutes: exercise.timeLimitMinutes,
          image: exercise.image,
          skills: exercise.skills,
          instructions: exercise.instructions,
          checks: exercise.checks.map(({ id, title, points }) => ({ id, title, points })),
          hintCount: exercise.hints.length,
        },
      };
    },
  );

  await app.register(attemptRoutes, { attempts, invites, practice, reviews, secureCookies });
  await app.register(inviteRoutes, { attempts, invites, secureCookies });
  await app.register(manageRoutes, { auth, attempts, invites, reviews });
  await app.register(authRoutes, { auth, secureCookies });

  if (fs.existsSync(config.webDir)) {
    await app.register(fastifyStatic, {
      root: config.webDir,
      index: ['index.html'],
      setHeaders: (reply, filePath) => {
        // Vite puts a content hash in every asset name: they never change.
        const immutable = filePath.includes(`${path.sep}assets${path.sep}`);
        reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  } else {
    app.get('/', async (_request, reply) =>
      reply
        .type('text/plain')
        .send('The opslab web UI is not built. Run `npm start` (or `npm run build:web`) and reload.\n'),
    );
  }

  // Shells were detached in the WebSocket plugin's preClose (above); only the database is left.
  app.addHook('onClose', async () => {
    db.close();
  });

  return { app, services };
}
