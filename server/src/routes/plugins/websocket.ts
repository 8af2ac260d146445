import type { FastifyInstance } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import { CLOSE_CODES, MAX_CLIENT_FRAME_BYTES } from '../../../../contract/index.js';
import { appWide } from './app-wide.js';

export interface WebSocketOptions {
  /** Detaches the terminals before the sockets close (they tell their browsers the server is restarting). */
  beforeClose: () => Promise<void>;
}

/** The WebSocket server behind the terminal routes: frame limit, protocol errors, and a clean shutdown. */
export const webSockets = appWide<WebSocketOptions>(async (app, opts) => {
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
      await opts.beforeClose();
      for (const client of this.websocketServer.clients) client.close(CLOSE_CODES.goingAway, 'The server is shutting down.');
      await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
    },
  });
});
