import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ActivateBody,
  AuditQuery,
  CreateUserBody,
  LoginBody,
  SetupBody,
  UserParams,
  type AuthState,
  type IdParams,
  type SignedInBody,
  type SignInMethods,
} from '../../../contract/index.js';
import type { AuthService, SignedIn } from '../auth/service.js';
import { clearSessionCookie, sessionId, setSessionCookie } from './cookies.js';
import { staffGuard } from './staff-guard.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  secureCookies: boolean;
  /** How staff sign in here (GET /api/auth/state tells the login page). */
  signIn: SignInMethods;
}

/** /api/auth/* and the admin's /api/manage/users and /api/manage/audit. */
export async function authRoutes(app: FastifyInstance, opts: AuthRoutesOptions): Promise<void> {
  const { auth } = opts;
  // Checked before the body is validated: without a session nothing else is said about the request.
  const admin = staffGuard(auth, ['admin']);
  const staff = staffGuard(auth, ['admin', 'interviewer']);

  const signedIn = (reply: FastifyReply, result: SignedIn, status: number) => {
    setSessionCookie(reply, result.session, opts.secureCookies);
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .send({ user: result.user, csrfToken: result.session.csrfToken } satisfies SignedInBody);
  };

  app.get('/api/auth/state', async (request, reply): Promise<AuthState> => {
    const state = await auth.state(sessionId(request));
    reply.header('cache-control', 'no-store');
    return { setupRequired: await auth.setupRequired(), ...state, signIn: opts.signIn };
  });

  app.post(
    '/api/auth/setup',
    { schema: { body: SetupBody } },
    async (request: FastifyRequest<{ Body: SetupBody }>, reply) =>
      signedIn(reply, await auth.setup(request.body), 201),
  );

  app.post(
    '/api/auth/login',
    { schema: { body: LoginBody } },
    async (request: FastifyRequest<{ Body: LoginBody }>, reply) =>
      signedIn(reply, await auth.login({ ...request.body, ip: request.ip }), 200),
  );

  app.post('/api/auth/logout', { preValidation: staff }, async (request, reply) => {
    await auth.logout(sessionId(request));
    clearSessionCookie(reply, opts.secureCookies);
    return reply.code(204).send();
  });

  app.post(
    '/api/auth/activate',
    { schema: { body: ActivateBody } },
    async (request: FastifyRequest<{ Body: ActivateBody }>, reply) =>
      signedIn(reply, await auth.activate(request.body), 200),
  );

  app.get('/api/manage/users', { preValidation: admin }, async () => ({ users: await auth.listUsers() }));

  app.post(
    '/api/manage/users',
    { preValidation: admin, schema: { body: CreateUserBody } },
    async (request: FastifyRequest<{ Body: CreateUserBody }>, reply) => {
      const created = await auth.addUser(request.user!, request.body);
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.post<{ Params: IdParams }>(
    '/api/manage/users/:id/disable',
    { preValidation: admin, schema: { params: UserParams } },
    async (request) => ({
      user: await auth.disableUser(request.user!, request.params.id),
    }),
  );

  app.get<{ Querystring: AuditQuery }>(
    '/api/manage/audit',
    { preValidation: admin, schema: { querystring: AuditQuery } },
    async (request) => ({
      entries: await auth.auditEntries(request.query.limit === undefined ? 100 : Number(request.query.limit)),
    }),
  );
}
