import { describe, expect, it } from 'vitest';
import {
  GRADER_USER,
  JOB_CPU_SHARES,
  jobContainerSpec,
  jobLabels,
  sandboxContainerSpec,
  sandboxLabels,
  sandboxName,
} from '../../server/src/sandbox/drivers/docker/container-spec.js';
import { LABELS } from '../../server/src/sandbox/labels.js';
import { CAPABILITY_ALLOWLIST, GVISOR_BASE_TASKS, GVISOR_TASKS_PER_PROCESS, LOG_MAX_SIZE, processLimits } from '../../server/src/sandbox/policy.js';
import type { JobSpec, SandboxSpec } from '../../server/src/sandbox/sandbox-driver.js';

const limits = { memoryMb: 512, cpus: 1.5, pids: 256 };
const spec: SandboxSpec = { attemptId: 'a_1', exerciseId: 'ci-triage', image: 'opslab/sandbox-base:latest', limits };

const sandbox = (runtime = 'runc', capabilities: readonly string[] = CAPABILITY_ALLOWLIST) =>
  sandboxContainerSpec({
    name: sandboxName('inst', spec),
    image: spec.image,
    env: { EXTRA: '1', LANG: 'en_US.UTF-8' },
    labels: sandboxLabels('inst', spec, { 'opslab.test': 'run' }),
    limits,
    runtime,
    capabilities,
  });

describe('sandbox container spec (no engine)', () => {
  it('drops every capability but the kept ones, and never gains privileges', () => {
    const host = sandbox().HostConfig!;
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.CapAdd).toEqual([...CAPABILITY_ALLOWLIST]);
    expect(host.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(host.Privileged).toBe(false);
    expect(sandbox('runc', ['KILL']).HostConfig!.CapAdd).toEqual(['KILL']);
    expect(sandbox('runc', []).HostConfig!.CapAdd).toEqual([]);
    // No seccomp option at all: the engine's default profile applies.
    expect(JSON.stringify(sandbox())).not.toMatch(/seccomp|apparmor|unconfined/i);
  });

  it('has no network, its own cgroup namespace, init, a capped log and no restarts', () => {
    const options = sandbox();
    const host = options.HostConfig! as Record<string, unknown>;
    expect(host.NetworkMode).toBe('none');
    expect(host.CgroupnsMode).toBe('private');
    expect(host.Init).toBe(true);
    expect(host.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': LOG_MAX_SIZE, 'max-file': '1' } });
    expect(host.RestartPolicy).toEqual({ Name: 'no' });
    expect(host.AutoRemove).toBe(false);
    expect(options).toMatchObject({ Hostname: 'sandbox', Tty: true, OpenStdin: true, StdinOnce: false });
  });

  it('applies the memory (no swap), cpu and process limits', () => {
    const host = sandbox().HostConfig!;
    expect(host.Memory).toBe(512 * 1024 * 1024);
    expect(host.MemorySwap).toBe(512 * 1024 * 1024);
    expect(host.NanoCpus).toBe(1_500_000_000);
    expect(host.PidsLimit).toBe(256);
    expect(host.Ulimits).toEqual([{ Name: 'nofile', Soft: 4096, Hard: 4096 }]);
    expect(host).not.toHaveProperty('Runtime');
    // The engine's default CPU weight: below every grading job's.
    expect(host).not.toHaveProperty('CpuShares');
  });

  it('under gVisor: the runtime, RLIMIT_NPROC for the processes and a pids cgroup sized for the Sentry', () => {
    const host = sandbox('runsc').HostConfig!;
    expect(host.Runtime).toBe('runsc');
    expect(host.PidsLimit).toBe(GVISOR_BASE_TASKS + 256 * GVISOR_TASKS_PER_PROCESS);
    expect(host.Ulimits).toEqual([
      { Name: 'nofile', Soft: 4096, Hard: 4096 },
      { Name: 'nproc', Soft: 256, Hard: 256 },
    ]);
  });

  it('names and labels the sandbox by attempt, generation or pool slot', () => {
    const options = sandbox();
    expect(options.name).toBe('opslab-inst-a_1');
    expect(options.Labels).toEqual({
      'opslab.test': 'run',
      [LABELS.managed]: 'true',
      [LABELS.instance]: 'inst',
      [LABELS.attempt]: 'a_1',
      [LABELS.exercise]: 'ci-triage',
      [LABELS.role]: 'sandbox',
    });
    expect(options.Env).toEqual(['TERM=xterm-256color', 'LANG=en_US.UTF-8', 'EXTRA=1']);
    expect(sandboxName('inst', { ...spec, generation: 2 })).toBe('opslab-inst-a_1-2');
    const pooled = { ...spec, pool: 'ci-triage-0' };
    expect(sandboxName('inst', pooled)).toBe('opslab-inst-pool-ci-triage-0');
    expect(sandboxLabels('inst', pooled)).not.toHaveProperty(LABELS.attempt);
    expect(sandboxLabels('inst', pooled)[LABELS.pool]).toBe('ci-triage-0');
  });

  it('leaves the name to the engine when none is given', () => {
    const options = sandboxContainerSpec({ image: 'x', labels: {}, limits, runtime: 'runc', capabilities: [] });
    expect(options).not.toHaveProperty('name');
    expect(options.Env).toEqual(['TERM=xterm-256color', 'LANG=C.UTF-8']);
  });
});

describe('job container spec (no engine)', () => {
  const job: JobSpec = { role: 'grader', image: 'opslab/grader:latest', limits, hardening: 'grader', attemptId: 'a_1' };
  const build = (s: JobSpec, runtime = 'runsc', capabilities: readonly string[] = CAPABILITY_ALLOWLIST) =>
    jobContainerSpec(s, { name: 'opslab-inst-grader-1', labels: jobLabels('inst', s), runtime, capabilities });

  it('a grader: its unprivileged user, every capability dropped, runc, no init, an idle main process', () => {
    const options = build(job);
    const host = options.HostConfig!;
    expect(options.User).toBe(GRADER_USER);
    expect(options.Cmd).toEqual(['sleep', 'infinity']);
    expect(options.Entrypoint).toEqual([]);
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host).not.toHaveProperty('CapAdd');
    expect(host).not.toHaveProperty('Runtime');
    expect(host.Init).toBe(false);
    expect(host.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(host.NetworkMode).toBe('none');
    expect(host).toMatchObject({ Memory: 512 * 1024 * 1024, MemorySwap: 512 * 1024 * 1024, PidsLimit: 256, NanoCpus: 1.5e9 });
    expect(options.Labels).toEqual({ [LABELS.instance]: 'inst', [LABELS.role]: 'grader', [LABELS.attempt]: 'a_1' });
    expect(options.Labels).not.toHaveProperty(LABELS.managed);
  });

  it('with the sandbox hardening: root with the allow-list, the operator runtime, init', () => {
    const options = build({ ...job, role: 'cleanroom', hardening: 'sandbox' });
    expect(options).not.toHaveProperty('User');
    expect(options.HostConfig).toMatchObject({ CapAdd: [...CAPABILITY_ALLOWLIST], Runtime: 'runsc', Init: true });
    expect(build({ ...job, hardening: 'sandbox' }, 'runc').HostConfig).not.toHaveProperty('Runtime');
  });

  it("with the sandbox hardening: a narrowed capability list, a sandbox's process limit under each runtime", () => {
    const clean: JobSpec = { ...job, role: 'cleanroom', hardening: 'sandbox' };
    const narrowed = build(clean, 'runc', ['CHOWN', 'KILL']).HostConfig!;
    expect(narrowed.CapAdd).toEqual(['CHOWN', 'KILL']);
    expect(build(clean, 'runc', []).HostConfig!.CapAdd).toEqual([]);
    expect(narrowed).toMatchObject({ PidsLimit: 256, CgroupnsMode: 'private' });
    expect(narrowed.Ulimits).toEqual([{ Name: 'nofile', Soft: 4096, Hard: 4096 }]);
    // gVisor: the guest's processes limited inside the Sentry (RLIMIT_NPROC), the cgroup a backstop, as for a sandbox.
    const gvisor = build(clean, 'runsc').HostConfig!;
    expect(gvisor.PidsLimit).toBe(processLimits('runsc', 256).pidsLimit);
    expect(gvisor.Ulimits).toContainEqual({ Name: 'nproc', Soft: 256, Hard: 256 });
    // The grader keeps its cgroup-only limit and never gets the operator's capabilities.
    const grader = build(job, 'runsc', ['CHOWN']).HostConfig!;
    expect(grader).toMatchObject({ PidsLimit: 256 });
    expect(grader).not.toHaveProperty('CapAdd');
    expect(grader.Ulimits).toEqual([{ Name: 'nofile', Soft: 4096, Hard: 4096 }]);
  });

  it('outweighs sandboxes for CPU, grader and clean room alike, within the same CPU limit', () => {
    expect(JOB_CPU_SHARES).toBeGreaterThan(1024);
    for (const s of [job, { ...job, role: 'cleanroom', hardening: 'sandbox' } as JobSpec]) {
      expect(build(s).HostConfig).toMatchObject({ CpuShares: JOB_CPU_SHARES, NanoCpus: 1.5e9 });
    }
  });

  it('a probe joins the sandbox network namespace only', () => {
    const options = build({ ...job, joinSandbox: 'abc' });
    expect(options.HostConfig!.NetworkMode).toBe('container:abc');
    expect(options.HostConfig).not.toHaveProperty('PidMode');
    expect(options.Hostname).toBeUndefined();
  });
});
