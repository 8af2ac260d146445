import Docker from 'dockerode';

export const docker = new Docker();

/** Label on everything tests create, so the global teardown can remove leftovers. */
export const TEST_LABEL = 'opslab.test';

/**
 * The value of TEST_LABEL: one per test run (set in vitest.config.ts, inherited by the workers), so that two
 * runs sharing an engine (a developer's and CI's, or a benchmark) never remove each other's containers.
 */
export const TEST_RUN = process.env.OPSLAB_TEST_RUN ?? `adhoc-${process.pid}`;
export const testLabels = (): Record<string, string> => ({ [TEST_LABEL]: TEST_RUN });

/** Containers of runs that died without their teardown are removed by a later run after this long. */
const STALE_AFTER_SECONDS = 2 * 3600;

/** Integration tests need the real engine: without it they fail loudly, they never skip. */
export async function requireDocker(): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(
      `These tests need a running Docker engine (DOCKER_HOST or /var/run/docker.sock) and none answers: ${
        (err as Error).message
      }. Start one (e.g. \`npm start\` installs and starts it on Debian as root) and run the tests again.`,
    );
  }
}

/** Removes this run's test containers, and those of any run older than two hours. */
export async function removeTestContainers(): Promise<number> {
  const list = await docker.listContainers({ all: true, filters: { label: [TEST_LABEL] } });
  const now = Date.now() / 1000;
  const doomed = list.filter((c) => c.Labels[TEST_LABEL] === TEST_RUN || now - c.Created > STALE_AFTER_SECONDS);
  await Promise.all(doomed.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  return doomed.length;
}
