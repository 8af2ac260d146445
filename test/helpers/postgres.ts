// A real PostgreSQL server for a test file: a container of opslab/test-postgres (test/images/postgres, Debian's
// postgresql-15, built by the global setup) started with testcontainers, with a random password, on a random host
// port. Ryuk (testcontainers' reaper) needs an image from a registry, so it is off: the container carries the test
// run's label and the global teardown removes leftovers. The benchmark's database section uses it too.
import crypto from 'node:crypto';
import path from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import type { ImageTarget } from '../../server/src/images/index.js';
import { repoRoot } from '../../server/src/paths.js';
import { testLabels } from './docker.js';

process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';

export const POSTGRES_IMAGE = 'opslab/test-postgres:latest';

/** The image as ensureImages builds it (its `extra`) when missing or out of date. */
export const POSTGRES_IMAGE_TARGET: ImageTarget = {
  name: 'test/postgres',
  tag: POSTGRES_IMAGE,
  contextDir: path.join(repoRoot(), 'test/images/postgres'),
};

export interface TestPostgres {
  /** postgres://opslab:<password>@127.0.0.1:<port>/opslab */
  url: string;
  /** The URL of another, empty database on the same server (created on demand). */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** `labels` are added to the test run's (the benchmark's own, so that its cleanup finds a container it left). */
export async function startPostgres(labels: Record<string, string> = {}): Promise<TestPostgres> {
  const password = crypto.randomBytes(18).toString('base64url');
  const container: StartedTestContainer = await new GenericContainer(POSTGRES_IMAGE)
    .withEnvironment({ POSTGRES_PASSWORD: password })
    .withExposedPorts(5432)
    .withLabels({ ...testLabels(), ...labels })
    .withWaitStrategy(Wait.forLogMessage('opslab-postgres: ready'))
    .withStartupTimeout(60_000)
    .start();
  const base = `postgres://opslab:${password}@${container.getHost()}:${container.getMappedPort(5432)}`;
  return {
    url: `${base}/opslab`,
    async database(name: string) {
      if (!/^[a-z_][a-z0-9_]{0,40}$/.test(name)) throw new Error(`bad database name ${name}`);
      const result = await container.exec(['psql', '-q', '-h', '/tmp', '-U', 'opslab', '-d', 'postgres', '-c', `CREATE DATABASE ${name}`]);
      if (result.exitCode !== 0) throw new Error(`CREATE DATABASE ${name}: ${result.output}`);
      return `${base}/${name}`;
    },
    async stop() {
      await container.stop({ remove: true, removeVolumes: true });
    },
  };
}
