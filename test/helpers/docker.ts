import Docker from 'dockerode';

export const docker = new Docker();

/** Label on everything tests create, so the global teardown can remove leftovers. */
export const TEST_LABEL = 'opslab.test';

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

export async function removeTestContainers(): Promise<number> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=true`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  return list.length;
}
