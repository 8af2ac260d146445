import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import { appWide } from './app-wide.js';
import { ERROR_CODES } from '../../../../contract/errors.js';

/**
 * The built web UI: its assets, the app shell for page paths (the UI routes on the client), and the API's 404
 * for everything else. Without a build, `/` says how to make one.
 */
export const webUi = appWide<{ webDir: string }>(async (app, { webDir }) => {
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?')[0]!;
    const indexFile = path.join(webDir, 'index.html');
    // Page paths (no file extension) serve the app shell. A missing asset is a plain 404, never HTML under a
    // script's name.
    const isPage = !url.startsWith('/api/') && !/\.[a-z0-9]+$/i.test(url);
    if (request.method === 'GET' && isPage && fs.existsSync(indexFile)) {
      return reply.type('text/html').header('cache-control', 'no-cache').send(fs.createReadStream(indexFile));
    }
    return reply
      .code(404)
      .send({ error: { code: ERROR_CODES.notFound, message: `No route for ${request.method} ${url}.` } });
  });

  if (fs.existsSync(webDir)) {
    await app.register(fastifyStatic, {
      root: webDir,
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
});
