import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { effectiveLimits } from '../../server/src/sandbox/policy.js';
import { formatEnvironments } from '../../server/src/grading/grader-inputs.js';
import { requireDocker, testLabels } from '../helpers/docker.js';

const policy = loadConfig({}).sandbox;

// The engine's own ps (procps, runc) lists a sandbox's processes with their environments; nothing runs inside it.
describe('process environments on the real engine', () => {
  let driver: DockerDriver;
  let id = '';

  beforeAll(async () => {
    await requireDocker();
    driver = new DockerDriver({ instance: `pe${process.pid}`, policy, extraLabels: testLabels() });
    id = await driver.create({
      attemptId: `pe-${Math.random().toString(36).slice(2, 10)}`,
      exerciseId: 'process-environ',
      image: 'opslab/sandbox-base:latest',
      limits: effectiveLimits(policy, {}),
    });
    await driver.start(id);
  }, 60_000);

  afterAll(async () => {
    if (id) await driver.remove(id);
  });

  it('reads each process environment, values with spaces and tabs included, and the list stays as it was', async () => {
    const script = [
      `env -i 'MSG=two  words' "TABBED=a$(printf '\\t')b" PYTHONPATH=/root/.cache/py PCT=100% setsid sleep 3001 &`,
      `env -i setsid sleep 3002 &`,
      `env -i PAD=$(head -c 131072 /dev/zero | tr '\\0' a | head -c 120000) PAD2=$(head -c 131072 /dev/zero | tr '\\0' b | head -c 20000) LATE=1 setsid sleep 3003 &`,
      'sleep 0.5',
    ].join('\n');
    const r = await driver.exec(id, ['bash', '-c', script], { timeoutMs: 30_000 });
    expect(r.exitCode).toBe(0);
    const list = await driver.processes(id);
    const by = (args: string) => list.find((p) => p.args === args);
    expect(by('sleep 3001')?.environ).toEqual(['MSG=two words', 'TABBED=a?b', 'PYTHONPATH=/root/.cache/py', 'PCT=100%']);
    expect(by('sleep 3002')?.environ).toEqual([]);
    // Over what ps prints (about 128 KiB): LATE would be cut off, so the environment is unknown, not short.
    expect(by('sleep 3003')).toBeDefined();
    expect(by('sleep 3003')?.environ).toBeUndefined();
    const pid = by('sleep 3001')!.pid;
    const line = formatEnvironments(list).split('\n').find((l) => l.startsWith(`${pid}\t`));
    expect(line).toBe(`${pid}\tMSG=two words\tTABBED=a?b\tPYTHONPATH=/root/.cache/py\tPCT=100%25`);
    console.log(`[figure] process environments read by the engine: ${list.filter((p) => p.environ).length} of ${list.length}`);
  }, 60_000);
});
