#!/usr/bin/env node
import { loadConfig, ConfigError } from './config.js';
import { buildApp } from './app.js';
import { serverLogger } from './log-format.js';
import { repoRoot } from './paths.js';

const USAGE = `usage: opslab <command>

commands:
  serve     serve the platform (HTTP + WebSocket) on OPSLAB_HOST:OPSLAB_PORT
  images    build the sandbox images that are missing or out of date
  report <attempt-id> [--junit]
            print an attempt's final grading as JSON (default) or JUnit XML, with the reviewer's details
`;

async function serve(): Promise<void> {
  const config = loadConfig();
  // Readable lines on a terminal, JSON anywhere else.
  const { app, services } = await buildApp({ config, logger: serverLogger(config.logLevel) });
  if (!(await services.driver.ping())) {
    app.log.error('The Docker engine does not answer (DOCKER_HOST or /var/run/docker.sock). Start it and try again.');
    await app.close();
    process.exit(1);
  }
  const report = await services.attempts.startBackground();
  app.log.info({ reconcile: report }, 'reconciled attempts with the engine');
  await app.listen({ host: config.host, port: config.port });
  console.log(`\nopslab is running: ${config.publicUrl}\n`);
  const setup = await services.auth.setupLink();
  if (setup) console.log(`No account exists yet. Create the first admin (this link works once):\n  ${setup}\n`);
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
  const { DockerImageEngine } = await import('./sandbox/drivers/docker/image-engine.js');
  const results = await ensureImages({
    engine: new DockerImageEngine(),
    repoRoot: repoRoot(),
    log: (line: string) => console.log(line),
  });
  for (const r of results) console.log(`${r.built ? 'built ' : 'cached'} ${r.tag} (${r.ms} ms)`);
}

async function report(args: string[]): Promise<void> {
  const { openStore } = await import('./store/open.js');
  const { GradingRepo } = await import('./store/grading-repo.js');
  const { AttemptsRepo } = await import('./store/attempts-repo.js');
  const { toJsonReport, toJUnitXml } = await import('./grading/index.js');
  const id = args.find((a) => !a.startsWith('--'));
  if (!id || !/^a_[0-9a-f]{20}$/.test(id)) {
    process.stderr.write('usage: opslab report <attempt-id> [--junit]\n');
    process.exit(2);
  }
  const config = loadConfig();
  const { sql } = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    const gradings = new GradingRepo(sql);
    const attempt = await new AttemptsRepo(sql).get(id);
    const run = await gradings.final(id);
    if (!attempt || !run) {
      process.stderr.write(`attempt ${id} has no final grading${attempt ? ` (it is ${attempt.state})` : ' (unknown attempt)'}\n`);
      process.exit(1);
    }
    const grading = {
      startedAt: new Date(run.startedAt).toISOString(),
      finishedAt: new Date(run.finishedAt).toISOString(),
      durationMs: run.finishedAt - run.startedAt,
      score: run.score,
      maxScore: run.maxScore,
      results: run.results,
      cleanroom: run.cleanroom,
      // Not stored: where the time went is in the server log of the run.
      phases: { graderStartMs: 0, copyMs: 0, cleanroomMs: 0, checksMs: 0 },
    };
    const confirmations = await gradings.confirmations.verdicts(id);
    const out = args.includes('--junit')
      ? toJUnitXml(grading, { suiteName: `${attempt.exerciseId} (${id})`, confirmations })
      : JSON.stringify(
          {
            ...toJsonReport(grading, { exerciseId: attempt.exerciseId, attemptId: id, confirmations }),
            error: run.error,
            // When each check first passed over every run of the attempt (the candidate's own checks included).
            firstPassed: Object.fromEntries(
              Object.entries(await gradings.firstPasses(id)).map(([check, at]) => [check, new Date(at).toISOString()]),
            ),
          },
          null,
          2,
        );
    process.stdout.write(out + '\n');
  } finally {
    await sql.close();
  }
}

async function main(): Promise<void> {
  const [command] = process.argv.slice(2);
  switch (command) {
    case 'serve':
      return serve();
    case 'images':
      return images();
    case 'report':
      return report(process.argv.slice(3));
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
