import { beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITY_ALLOWLIST } from '../../server/src/sandbox/policy.js';
import { docker } from '../helpers/docker.js';
import { useTestServer } from '../helpers/server.js';
import { TestTerminal } from '../helpers/terminal-client.js';
import { startAttempt } from '../helpers/api.js';
import { capabilityMask } from '../helpers/sandbox-probe.js';

describe('sandbox posture (real engine)', () => {
  const server = useTestServer();
  let sandboxId: string;

  beforeAll(async () => {
    const { attempt } = await startAttempt(server.url);
    sandboxId = (await server.services.attempts.get(attempt.id))!.sandboxId!;
  });
  const sh = (script: string) => server.services.driver.exec(sandboxId, ['bash', '-c', script], { timeoutMs: 20_000 });

  it('is created with the hardening policy', async () => {
    const info = await docker.getContainer(sandboxId).inspect();
    const host = info.HostConfig;
    expect(host.NetworkMode).toBe('none');
    expect(host.Privileged).toBe(false);
    expect(host.CapDrop).toEqual(['ALL']);
    expect([...(host.CapAdd ?? [])].sort()).toEqual([...CAPABILITY_ALLOWLIST].sort());
    expect(host.SecurityOpt).toContain('no-new-privileges:true');
    expect(host.Memory).toBe(512 * 1024 * 1024);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.NanoCpus).toBe(1e9);
    expect(host.PidsLimit).toBe(256);
    expect(host.Init).toBe(true);
    expect(host.RestartPolicy?.Name).toBe('no');
    expect(host.Binds ?? []).toEqual([]);
    expect(info.Mounts).toEqual([]);
    expect(host.LogConfig).toMatchObject({ Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } });
    expect(info.Config.Labels).toMatchObject({ 'opslab.managed': 'true', 'opslab.role': 'sandbox', 'opslab.exercise': 'shell-warmup' });
  });

  it('reads back the policy from inside: capabilities, no_new_privs, seccomp, limits, no network', async () => {
    const status = (await sh('cat /proc/self/status')).stdout;
    const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status)![1]}`);
    const expected = capabilityMask(CAPABILITY_ALLOWLIST);
    expect(capEff.toString(16)).toBe(expected.toString(16));
    expect(status).toMatch(/NoNewPrivs:\s*1/);
    expect(status).toMatch(/Seccomp:\s*2/);
    expect((await sh('cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max')).stdout.trim()).toBe('256');
    const mem = (await sh('cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max')).stdout.trim();
    expect(Number(mem)).toBe(512 * 1024 * 1024);
    const links = (await sh('ls /sys/class/net')).stdout.split(/\s+/).filter(Boolean);
    expect(links).toEqual(['lo']);
    const outbound = await sh('exec 3<>/dev/tcp/1.1.1.1/80 && echo connected || echo refused');
    expect(outbound.stdout.trim()).toBe('refused');
    expect((await sh('test -S /var/run/docker.sock && echo present || echo absent')).stdout.trim()).toBe('absent');
    expect((await sh('mount -t tmpfs none /mnt 2>&1; echo rc=$?')).stdout).toMatch(/rc=[1-9]/);
    expect((await sh('echo 1 > /proc/sys/kernel/sysrq 2>&1; echo rc=$?')).stdout).toMatch(/rc=[1-9]/);
  });

  it('limits WebSocket input: an oversized frame closes the connection with 1009', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    term.ws.send(Buffer.alloc(65 * 1024, 'x'), { binary: true });
    expect((await term.closed).code).toBe(1009);
    const again = await TestTerminal.connect(server.url, attempt.id, token);
    again.sendControl({ type: 'resize', cols: 10_000, rows: 5 });
    again.ws.send('not json');
    await again.waitFor(() => again.controls.filter((c) => c.type === 'notice').length >= 1);
    expect(again.controls.find((c) => c.type === 'notice')).toMatchObject({ level: 'warn', code: 'bad_control' });
    again.type('echo still-$((2*2))\r');
    await again.waitFor('still-4');
    again.close();
  });

  it('never rate-limits acknowledgements (a dropped ack would hold output back for good)', async () => {
    const { attempt, token } = await startAttempt(server.url);
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    for (let i = 0; i < 5000; i++) term.ack(0);
    term.type('echo acked-$((3*3))\r');
    await term.waitFor('acked-9');
    expect(term.controls.filter((c) => c.type === 'notice')).toEqual([]);
    term.close();
  });
});
