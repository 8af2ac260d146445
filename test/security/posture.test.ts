// Item 1, posture: inside a sandbox the effective capabilities equal the allow-list, no_new_privs is set, seccomp
// filters the shell, and the limits read back equal the policy. Runs under runc and, in the second pass, gVisor.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITY_ALLOWLIST, effectiveLimits, isGvisor, processLimits } from '../../server/src/sandbox/policy.js';
import { loadConfig } from '../../server/src/config.js';
import type { ResourceLimits } from '../../server/src/sandbox/sandbox-driver.js';
import { docker } from '../helpers/docker.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { TestTerminal } from '../helpers/terminal-client.js';
import { startAttempt } from '../helpers/api.js';
import { capabilityMask, hostCgroup, putProbe, runProbe } from '../helpers/sandbox-probe.js';

const ITEM = '1 posture';
const MiB = 1024 * 1024;
const gvisor = isGvisor(SANDBOX_RUNTIME);

const maskOf = capabilityMask;
const ALLOWLIST_MASK = maskOf(CAPABILITY_ALLOWLIST);

interface Posture {
  statusCapEff?: string;
  statusCapPrm?: string;
  statusCapBnd?: string;
  statusCapInh?: string;
  statusCapAmb?: string;
  statusNoNewPrivs?: string;
  statusSeccomp?: string;
  noNewPrivs: number;
  seccomp: number;
  nproc: number;
  nofile: number;
  cgroup: Record<string, string>;
  links: string[];
  uid: number;
}

describe(`security 1: posture (${SANDBOX_RUNTIME})`, () => {
  const server = useTestServer();
  let sandboxId: string;
  let term: TestTerminal;
  let limits: ResourceLimits;
  let posture: Posture;

  beforeAll(async () => {
    const { attempt, token } = await startAttempt(server.url);
    sandboxId = (await server.services.attempts.get(attempt.id))!.sandboxId!;
    limits = effectiveLimits(server.config.sandbox, server.services.catalog.get('shell-warmup')!.limits);
    await putProbe(server.services.driver, sandboxId);
    term = await TestTerminal.connect(server.url, attempt.id, token);
    posture = await runProbe<Posture>(term, ['posture']);
  });
  afterAll(async () => {
    term?.close();
  });

  it('is created with the hardening policy and the configured runtime (engine inspect)', async () => {
    const info = await docker.getContainer(sandboxId).inspect();
    const host = info.HostConfig;
    expect(host.Runtime ?? 'runc').toBe(SANDBOX_RUNTIME);
    expect(host.Privileged).toBe(false);
    expect(host.CapDrop).toEqual(['ALL']);
    expect([...(host.CapAdd ?? [])].sort()).toEqual([...CAPABILITY_ALLOWLIST].sort());
    expect(host.SecurityOpt).toContain('no-new-privileges:true');
    // No profile of our own and never unconfined: the engine's default seccomp (and AppArmor, where present).
    expect((host.SecurityOpt ?? []).filter((o: string) => /^(seccomp|apparmor)[=:]/.test(o))).toEqual([]);
    const engine = await docker.info();
    expect((engine.SecurityOptions as string[]).join(' ')).toMatch(/name=seccomp,profile=default/);
    // No host namespaces, devices or mounts, never the Docker socket.
    expect(host.NetworkMode).toBe('none');
    for (const mode of [host.PidMode, host.IpcMode, host.UTSMode, host.UsernsMode]) expect(mode ?? '').not.toBe('host');
    expect((host as { CgroupnsMode?: string }).CgroupnsMode).toBe('private');
    expect(host.IpcMode).not.toMatch(/^container:/);
    expect(host.Devices ?? []).toEqual([]);
    expect(host.Binds ?? []).toEqual([]);
    expect(info.Mounts).toEqual([]);
    expect(JSON.stringify(info)).not.toContain('docker.sock');
    // Limits as asked for (their effect inside is the next tests').
    expect(host.Memory).toBe(limits.memoryMb * MiB);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.NanoCpus).toBe(Math.round(limits.cpus * 1e9));
    expect(host.PidsLimit).toBe(processLimits(SANDBOX_RUNTIME, limits.pids).pidsLimit);
    expect(host.LogConfig).toMatchObject({ Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } });
    figure(ITEM, 'runtime', host.Runtime ?? 'runc');
    figure(ITEM, 'log cap', `${host.LogConfig?.Config?.['max-size']} x ${host.LogConfig?.Config?.['max-file']}`);
  });

  it("the shell's effective capabilities are the allow-list; no_new_privs is set; seccomp filters it", () => {
    const eff = BigInt(`0x${posture.statusCapEff}`);
    expect(eff.toString(16)).toBe(ALLOWLIST_MASK.toString(16));
    expect(BigInt(`0x${posture.statusCapPrm}`)).toBe(ALLOWLIST_MASK);
    expect(BigInt(`0x${posture.statusCapBnd}`)).toBe(ALLOWLIST_MASK);
    expect(BigInt(`0x${posture.statusCapInh ?? '0'}`)).toBe(0n);
    expect(posture.uid).toBe(0);
    // prctl asks the kernel (gVisor's own, under runsc) directly; /proc's lines are checked where the kernel has them
    // (gVisor's /proc/self/status has no NoNewPrivs line).
    expect(posture.noNewPrivs).toBe(1);
    if (posture.statusNoNewPrivs !== undefined) expect(posture.statusNoNewPrivs).toBe('1');
    expect(posture.links).toEqual(['lo']);
    figure(ITEM, 'CapEff (allow-list)', `0x${eff.toString(16)}`);
    figure(ITEM, 'no_new_privs', posture.noNewPrivs);
    figure(ITEM, 'network links', posture.links.join(','));
  });

  it('OPSLAB_SANDBOX_CAPABILITIES takes capabilities away, and the shell has exactly what is left', async () => {
    const narrow = await startTestServer({ env: { OPSLAB_SANDBOX_CAPABILITIES: 'CHOWN,cap_kill' } });
    try {
      const { attempt, token } = await startAttempt(narrow.url);
      const id = (await narrow.services.attempts.get(attempt.id))!.sandboxId!;
      await putProbe(narrow.services.driver, id);
      const t = await TestTerminal.connect(narrow.url, attempt.id, token);
      const p = await runProbe<Posture>(t, ['posture']);
      t.close();
      expect(BigInt(`0x${p.statusCapEff}`)).toBe(maskOf(['CHOWN', 'KILL']));
      expect(BigInt(`0x${p.statusCapBnd}`)).toBe(maskOf(['CHOWN', 'KILL']));
      figure(ITEM, 'CapEff with CHOWN,KILL only', `0x${maskOf(['CHOWN', 'KILL']).toString(16)}`);
    } finally {
      await narrow.destroy();
    }
    // And it can never add one: the configuration refuses anything beyond the allow-list.
    expect(() => loadConfig({ OPSLAB_SANDBOX_CAPABILITIES: 'CHOWN,SYS_ADMIN' })).toThrow(/OPSLAB_SANDBOX_CAPABILITIES/);
  });

  it('seccomp filters the system calls the candidate makes to a host kernel', async () => {
    if (!gvisor) {
      // runc: the shell's calls go to the host kernel through the engine's default profile (2 = filter mode).
      expect(posture.seccomp).toBe(2);
      expect(posture.statusSeccomp).toBe('2');
      figure(ITEM, 'seccomp mode', `shell ${posture.seccomp}`);
      return;
    }
    // gVisor: the shell's calls are served by the Sentry, gVisor's user-space kernel, and only the Sentry calls the
    // host kernel: it runs unprivileged under gVisor's own seccomp filter, with no_new_privs. The OCI profile is not
    // applied inside (runsc --oci-seccomp ends the TTY shell at once with Debian's runsc 20221219), so the shell
    // reads 0, which is what this asserts rather than hiding it.
    expect(posture.seccomp).toBe(0);
    const info = await docker.getContainer(sandboxId).inspect();
    const status = fs.readFileSync(`/proc/${info.State.Pid}/status`, 'utf8');
    expect(status).toMatch(/^Seccomp:\s*2$/m);
    expect(status).toMatch(/^NoNewPrivs:\s*1$/m);
    expect(status).not.toMatch(/^Uid:\s*0\s/m);
    figure(ITEM, 'seccomp mode', `shell ${posture.seccomp}, Sentry 2`);
  });

  it('the limits read back equal the policy', async () => {
    const processes = processLimits(SANDBOX_RUNTIME, limits.pids);
    const info = await docker.getContainer(sandboxId).inspect();
    // What the host kernel enforces on the container's cgroup (read on the host, so it holds for both runtimes:
    // under gVisor the cgroup holds the Sentry that runs the candidate's processes).
    const host = {
      memory: Number(await hostCgroup(docker, sandboxId, 'memory', 'memory.limit_in_bytes')),
      memsw: Number(await hostCgroup(docker, sandboxId, 'memory', 'memory.memsw.limit_in_bytes')),
      quota: Number(await hostCgroup(docker, sandboxId, 'cpu', 'cpu.cfs_quota_us')),
      period: Number(await hostCgroup(docker, sandboxId, 'cpu', 'cpu.cfs_period_us')),
      pids: Number(await hostCgroup(docker, sandboxId, 'pids', 'pids.max')),
    };
    expect(host.memory).toBe(limits.memoryMb * MiB);
    expect(host.memsw).toBe(host.memory); // no swap beyond the memory limit
    expect(host.quota / host.period).toBeCloseTo(limits.cpus, 5);
    expect(host.pids).toBe(processes.pidsLimit);
    if (!gvisor) {
      // runc: the sandbox sees its own cgroup, and it says the same.
      const cg = posture.cgroup;
      expect(Number(cg['pids/pids.max'] ?? cg['pids.max'])).toBe(limits.pids);
      expect(Number(cg['memory/memory.limit_in_bytes'] ?? cg['memory.max'])).toBe(limits.memoryMb * MiB);
      if (cg['memory/memory.memsw.limit_in_bytes']) expect(Number(cg['memory/memory.memsw.limit_in_bytes'])).toBe(limits.memoryMb * MiB);
      if (cg['cpu/cpu.cfs_quota_us']) {
        expect(Number(cg['cpu/cpu.cfs_quota_us']) / Number(cg['cpu/cpu.cfs_period_us'])).toBeCloseTo(limits.cpus, 5);
      }
      // RLIMIT_NPROC is left alone under runc (it would count the uid's processes host-wide; root is exempt).
      expect(info.HostConfig.Ulimits?.find((u) => u.Name === 'nproc')).toBeUndefined();
    } else {
      // gVisor: no cgroup files inside (its own /sys), the processes limit is RLIMIT_NPROC inside the Sentry
      // and the host cgroup above is the backstop sized for the Sentry's own threads (policy.ts).
      expect(posture.nproc).toBe(limits.pids);
      expect(info.HostConfig.Ulimits?.find((u) => u.Name === 'nproc')).toMatchObject({ Soft: limits.pids, Hard: limits.pids });
    }
    expect(posture.nofile).toBe(4096);
    figure(ITEM, 'memory limit', host.memory / MiB, 'MiB');
    figure(ITEM, 'swap beyond memory', (host.memsw - host.memory) / MiB, 'MiB');
    figure(ITEM, 'cpu quota', host.quota / host.period, 'CPU');
    figure(ITEM, 'pids.max (host cgroup)', host.pids);
    figure(ITEM, 'processes (inside)', gvisor ? posture.nproc : Number(posture.cgroup['pids/pids.max'] ?? posture.cgroup['pids.max']));
  });
});
