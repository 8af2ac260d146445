import type { FastifyInstance, FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { AttemptParams, CLOSE_CODES, ERROR_CODES, parseTerminalId } from '../../../contract/index.js';
import type { AttemptService } from '../attempts/attempt-service.js';
import { errors, OpslabError } from '../errors.js';
import type { Attempt } from '../store/attempts-repo.js';
import { bridgeWebSocket } from '../terminal/ws-bridge.js';
import { passToOwner, REPLICA_HOP_HEADER } from './terminal-proxy.js';

type IdRequest = FastifyRequest<{ Params: AttemptParams }>;

export interface TerminalRouteOptions {
  url: string;
  attempts: AttemptService;
  /** Hooks that run first (the staff guard). */
  guards?: preValidationAsyncHookHandler[];
  /** The attempt the request may open; throws when it may not (401/404). */
  access: (request: IdRequest) => Attempt | Promise<Attempt>;
  /** An interviewer's live view: watches, never types, never replaces the candidate's window. */
  readOnly: boolean;
}

/** A plain HTTP request to a WebSocket endpoint (the plugin would answer an empty 404). */
export const upgradeRequired = () =>
  new OpslabError(ERROR_CODES.upgradeRequired, 426, 'This address takes WebSocket connections only.', { upgrade: 'websocket' });

/**
 * An attempt's terminal WebSocket: the candidate's own, or the read-only live view. Everything is checked
 * before the upgrade completes, so a refused request gets a plain HTTP error and no WebSocket.
 */
export function terminalRoute(app: FastifyInstance, opts: TerminalRouteOptions): void {
  const { attempts, readOnly } = opts;
  app.get<{ Params: AttemptParams }>(
    opts.url,
    {
      websocket: true,
      schema: { params: AttemptParams },
      preValidation: [
        ...(opts.guards ?? []),
        async (request: IdRequest) => {
          const attempt = await opts.access(request);
          // `?terminal=N`: which of the attempt's terminals (1 when absent), checked like the rest before the upgrade.
          const query = (request.query ?? {}) as Record<string, unknown>;
          const unknown = Object.keys(query).find((key) => key !== 'terminal');
          if (unknown !== undefined) throw errors.badRequest(`Unknown query parameter ${JSON.stringify(unknown.slice(0, 40))}: only terminal is taken.`);
          const n = parseTerminalId(query.terminal);
          if (typeof n !== 'number') throw errors.badRequest(n.error);
          request.terminalId = n;
          if (!request.ws) throw upgradeRequired();
          if (attempt.state !== 'running') throw errors.attemptEnded(attempt.state);
          if (attempt.sandboxStatus === 'missing') throw errors.sandboxMissing();
          request.attempt = attempt;
        },
      ],
    },
    async (socket, request) => {
      const attempt = request.attempt!;
      let terminal;
      try {
        // Several replicas: the attempt's shell is at its owner; a connection that reached another one goes on there.
        const home = await attempts.terminalHome(attempt.id);
        if (!home.here) {
          if (request.headers[REPLICA_HOP_HEADER] !== undefined) {
            // Passed on by a replica that thought this one the owner: the owner changed meanwhile.
            socket.close(CLOSE_CODES.restarting, 'The attempt is moving between servers; reconnecting…');
          } else {
            passToOwner(socket, home.address, request, attempts.ownership.id);
          }
          return;
        }
        terminal = await attempts.terminalFor(attempt, request.terminalId ?? 1, { startShell: !readOnly });
      } catch (err) {
        // Ended while the terminal was being opened (a submit, the deadline): closed like any ended attempt's.
        if ((err as { statusCode?: number }).statusCode === 409) {
          socket.close(CLOSE_CODES.restarting, 'The attempt is moving between servers; reconnecting…');
          return;
        }
        if ((err as { statusCode?: number }).statusCode === 410) {
          socket.close(CLOSE_CODES.ended, 'The attempt has ended.');
          return;
        }
        const what = readOnly ? 'live view' : 'terminal';
        if ((err as { statusCode?: number }).statusCode === 400) {
          socket.close(CLOSE_CODES.policy, (err as Error).message.slice(0, 120));
          return;
        }
        request.log.error({ attemptId: attempt.id, err: (err as Error).message }, `${what} could not be opened`);
        socket.close(CLOSE_CODES.serverError, 'The terminal could not be opened.');
        return;
      }
      const current = (await attempts.get(attempt.id)) ?? attempt;
      bridgeWebSocket(
        socket,
        terminal,
        { type: 'hello', attempt: attempts.view(current), terminal: request.terminalId ?? 1, ...(readOnly ? { readOnly: true } : {}) },
        (msg, extra) => request.log.warn({ attemptId: attempt.id, ...extra }, msg),
        { readOnly },
      );
    },
  );
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The attempt a request was authorised for (set by the attempt routes' checks). */
    attempt?: Attempt;
    /** The terminal a terminal WebSocket asked for (`?terminal=`). */
    terminalId?: number;
  }
}
