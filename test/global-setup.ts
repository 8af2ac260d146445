import Docker from 'dockerode';
import { requireDocker, removeTestContainers } from './helpers/docker.js';
import { ensureImages } from '../server/src/images/index.js';
import { DockerImageEngine } from '../server/src/sandbox/drivers/docker/image-engine.js';
import { repoRoot } from '../server/src/paths.js';
import { ensureWebBuilt } from './helpers/web-build.js';
import { POSTGRES_IMAGE_TARGET } from './helpers/postgres.js';

/** Once per test run: the engine must answer, the sandbox images, the tests' PostgreSQL and the web UI must be built. */
export async function setup(): Promise<void> {
  await requireDocker();
  await removeTestContainers();
  const started = Date.now();
  await ensureImages({
    engine: new DockerImageEngine(new Docker()),
    repoRoot: repoRoot(),
    log: () => undefined,
    extra: [POSTGRES_IMAGE_TARGET],
  });
  process.stdout.write(`[setup] images ready in ${Date.now() - started} ms\n`);
  ensureWebBuilt();
}

export async function teardown(): Promise<void> {
  const removed = await removeTestContainers();
  if (removed > 0) process.stdout.write(`[teardown] removed ${removed} leftover test container(s)\n`);
}
