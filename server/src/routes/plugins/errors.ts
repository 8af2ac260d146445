import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { OpslabError } from '../../errors.js';
import { appWide } from './app-wide.js';
import { ERROR_CODES } from '../../../../contract/errors.js';

/** The API's error shape for every failure: OpslabError as it says, validation 400, the rest 4xx or a bare 500. */
export const errorHandling = appWide(async (app) => {
  app.setErrorHandler((error: FastifyError | OpslabError, request, reply) => {
    if (error instanceof OpslabError) {
      for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
      return reply.code(error.statusCode).send({ error: { code: error.code, message: error.message } });
    }
    if (error.validation) {
      return reply
        .code(400)
        .send({ error: { code: ERROR_CODES.badRequest, message: `Invalid request: ${error.message}` } });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status < 500) {
      return reply.code(status).send({ error: { code: ERROR_CODES.badRequest, message: error.message } });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({
      error: { code: ERROR_CODES.internal, message: `Something went wrong on the server (request ${request.id}).` },
    });
  });
});

/**
 * Fastify's `frameworkErrors`: URLs the router refuses (a malformed percent escape, an id longer than
 * maxParamLength) get the API's error shape too, not Fastify's own.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void reply.code(status).send({ error: { code: ERROR_CODES.badRequest, message: error.message } });
}
