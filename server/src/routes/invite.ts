import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CandidateInvite } from '../../../contract/index.js';
import type { AttemptService } from '../attempts/attempt-service.js';
import type { InviteLanding } from '../config.js';
import { errors } from '../errors.js';
import type { InviteService } from '../invites/invite-service.js';
import { bearerToken, setAttemptCookie } from './cookies.js';

export interface InviteRoutesOptions {
  invites: InviteService;
  attempts: AttemptService;
  secureCookies: boolean;
  /** What the landing page may tell before the start (OPSLAB_INVITE_LANDING). */
  landing: InviteLanding;
}

/** `minimal`: the time limit and the rules, neither the exercise's name nor its id. */
export function landingView(view: CandidateInvite, landing: InviteLanding): CandidateInvite {
  return landing === 'minimal' ? { ...view, exercise: null } : view;
}

/** The invite token a candidate's browser presents: always the Authorization header, never the URL. */
function inviteToken(request: FastifyRequest): string {
  const token = bearerToken(request) ?? '';
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) throw errors.unauthorized('Open the invite link you were sent.');
  return token;
}

/** The candidate's side of an invite: what it is, and starting (or resuming) its attempt. */
export async function inviteRoutes(app: FastifyInstance, opts: InviteRoutesOptions): Promise<void> {
  const { invites, attempts } = opts;
  // The answer depends on the Authorization header, which browser caches do not key on, and Chromium keeps a 410
  // without an expiry for good: another invite opened later in the same browser would read "withdrawn".
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get('/api/invite', async (request: FastifyRequest) => ({
    invite: landingView(await invites.candidateView(await invites.fromToken(inviteToken(request))), opts.landing),
  }));

  app.post('/api/invite/start', async (request: FastifyRequest, reply: FastifyReply) => {
    // Claims the link: the attempt's own token goes to this browser's HttpOnly cookie only, never into the
    // answer's body, and the link alone opens the attempt no more.
    const { attempt, created, token } = await invites.start(inviteToken(request));
    setAttemptCookie(reply, attempt, token, opts.secureCookies);
    return reply.code(created ? 201 : 200).send({ attempt: attempts.view(attempt) });
  });
}
