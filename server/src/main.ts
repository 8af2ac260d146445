#!/usr/bin/env node
import Docker from 'dockerode';
import { loadConfig, ConfigError } from './config.js';
import { buildApp } from './app.js';
import { repoRoot } from './paths.js';

const USAGE = `usage: opslab <command>

commands:
  serve     serve the platform (HTTP + WebSocket) on OPSLAB_HOST:OPSLAB_PORT
  images    build the sandbox images that are missing or out of date
`;

async function serve(): Promise<void> {
  const config = loadConfig();
  const { app, services } = await buildApp({ config });
  if (!(await services.driver.ping())) {
    app.log.error('The Docker engine does not answer (DOCKER_HOST or /var/run/docker.sock). Start it and try again.');
    await app.close();
    process.exit(1);
  }
  const report = await services.attempts.startBackground();
  app.log.info({ reconcile: report }, 'reconciled attempts with the engine');
  await app.listen({ host: config.host, port: config.port });
  console.log(`\nopslab is running: ${config.publicUrl}\n`);
  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info(`${signal}: shutting down (sandboxes keep running and are adopted on the next start)`);
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void close('SIGINT'));
  process.on('SIGTERM', () => void close('SIGTERM'));
  process.on('SIGHUP', () => void close('SIGHUP'));
}

async function images(): Promise<void> {
  const { ensureImages } = await import('./images/index.js');
  const results = await ensureImages({
    docker: new Docker(),
    repoRoot: repoRoot(),
    log: (line: string) => console.log(line),
  });
  for (const r of results) console.log(`${r.built ? 'built ' : 'cached'} ${r.tag} (${r.ms} ms)`);
}

async function main(): Promise<void> {
  const [command] = process.argv.slice(2);
  switch (command) {
    case 'serve':
      return serve();
    case 'images':
      return images();
    default:
      process.stderr.write(USAGE);
      process.exit(command ? 2 : 0);
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
