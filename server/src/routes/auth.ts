import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_COOKIE, type AuthService, type NewSession, type SignedIn } from '../auth/service.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  secureCookies: boolean;
}

const USER_ID = '^u_[0-9a-f]{20}$';
// A secret from a link: 256 bits in base64url (43 characters); a little room, nothing more.
const token = { type: 'string', minLength: 1, maxLength: 100 } as const;
const email = { type: 'string', minLength: 3, maxLength: 254, pattern: '^\\s*[^\\s@]+@[^\\s@]+\\s*$' } as const;
// Something visible, and no control characters (NUL, escapes, line breaks).
const name = { type: 'string', minLength: 1, maxLength: 100, pattern: '^(?=[^]*\\S)[^\\u0000-\\u001f\\u007f]+$' } as const;
// The 12..200 rule is checked by the service with a readable message; this only bounds the body.
const password = { type: 'string', maxLength: 1000 } as const;
const role = { type: 'string', enum: ['admin', 'interviewer'] } as const;

const body = (properties: Record<string, unknown>) =>
  ({ type: 'object', required: Object.keys(properties), additionalProperties: false, properties }) as const;

/** /api/auth/* and the admin's /api/manage/users and /api/manage/audit. */
export async function authRoutes(app: FastifyInstance, opts: AuthRoutesOptions): Promise<void> {
  const { auth } = opts;
  // Checked before the body is validated: without a session nothing else is said about the request.
  const admin = auth.guard(['admin']);
  const staff = auth.guard(['admin', 'interviewer']);

  const setSessionCookie = (reply: FastifyReply, session: NewSession) =>
    reply.setCookie(SESSION_COOKIE, session.id, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: opts.secureCookies,
      maxAge: session.maxAgeSeconds,
    });

  const signedIn = (reply: FastifyReply, result: SignedIn, status: number) => {
    setSessionCookie(reply, result.session);
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .send({ user: result.user, csrfToken: result.session.csrfToken });
  };

  app.get('/api/auth/state', async (request, reply) => {
    const state = auth.state(request.cookies[SESSION_COOKIE]);
    reply.header('cache-control', 'no-store');
    return { setupRequired: auth.setupRequired(), ...state };
  });

  app.post(
    '/api/auth/setup',
    { schema: { body: body({ token, email, name, password }) } },
    async (request: FastifyRequest<{ Body: { token: string; email: string; name: string; password: string } }>, reply) =>
      signedIn(reply, await auth.setup(request.body), 201),
  );

  app.post(
    '/api/auth/login',
    { schema: { body: body({ email, password: { type: 'string', maxLength: 1000 } }) } },
    async (request: FastifyRequest<{ Body: { email: string; password: string } }>, reply) =>
      signedIn(reply, await auth.login({ ...request.body, ip: request.ip }), 200),
  );

  app.post('/api/auth/logout', { preValidation: staff }, async (request, reply) => {
    auth.logout(request.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: opts.secureCookies });
    return reply.code(204).send();
  });

  app.post(
    '/api/auth/activate',
    { schema: { body: body({ token, password }) } },
    async (request: FastifyRequest<{ Body: { token: string; password: string } }>, reply) =>
      signedIn(reply, await auth.activate(request.body), 200),
  );

  app.get('/api/manage/users', { preValidation: admin }, async () => ({ users: auth.listUsers() }));

  app.post(
    '/api/manage/users',
    { preValidation: admin, schema: { body: body({ email, name, role }) } },
    async (
      request: FastifyRequest<{ Body: { email: string; name: string; role: 'admin' | 'interviewer' } }>,
      reply,
    ) => {
      const created = await auth.addUser(request.user!, request.body);
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/manage/users/:id/disable',
    {
      preValidation: admin,
      schema: {
        params: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', pattern: USER_ID } },
        },
      },
    },
    async (request) => ({
      user: auth.disableUser(request.user!, request.params.id),
    }),
  );

  app.get<{ Querystring: { limit?: string } }>(
    '/api/manage/audit',
    {
      preValidation: admin,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          // Query values are strings (no coercion): 1..1000.
          properties: { limit: { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' } },
        },
      },
    },
    async (request) => ({
      entries: auth.auditEntries(request.query.limit === undefined ? 100 : Number(request.query.limit)),
    }),
  );
}
