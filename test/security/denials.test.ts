// Item 2, denials: from the candidate's own shell, mount, writing /proc/sys, loading modules, raw sockets, keyctl,
// the Docker socket or API, any outbound connection, the server and any other sandbox are all refused.
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGvisor } from '../../server/src/sandbox/policy.js';
import { docker } from '../helpers/docker.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';
import { useTestServer } from '../helpers/server.js';
import { TestTerminal } from '../helpers/terminal-client.js';
import { startAttempt } from '../helpers/api.js';
import { putProbe, runProbe, shellRun, type Denial } from '../helpers/sandbox-probe.js';

const ITEM = '2 denials';
const gvisor = isGvisor(SANDBOX_RUNTIME);

/** What each probe tried and how it failed (errno names), in short for the table. */
const summary = (d: Denial) =>
  [...new Set(d.detail.split(', ').map((part) => part.slice(part.lastIndexOf(': ') + 2)))].join('/');

describe(`security 2: denials (${SANDBOX_RUNTIME})`, () => {
  const server = useTestServer();
  let a: TestTerminal;
  let b: TestTerminal;
  let results: Record<string, Denial>;
  let otherFromItself: Denial;
  let sandboxA: string;
  const marker = `opslab-other-${process.pid}-${Date.now().toString(36)}`;
  const otherPort = 18000 + (process.pid % 1000);

  beforeAll(async () => {
    const first = await startAttempt(server.url);
    const second = await startAttempt(server.url);
    sandboxA = (await server.services.attempts.get(first.attempt.id))!.sandboxId!;
    const sandboxB = (await server.services.attempts.get(second.attempt.id))!.sandboxId!;
    await putProbe(server.services.driver, sandboxA);
    await putProbe(server.services.driver, sandboxB);
    a = await TestTerminal.connect(server.url, first.attempt.id, token(first));
    b = await TestTerminal.connect(server.url, second.attempt.id, token(second));
    // The other sandbox: a process with a marker name, a listener on its loopback, a file.
    await shellRun(
      b,
      `(exec -a ${marker} sleep 600) & python3 -m http.server ${otherPort} --bind 127.0.0.1 >/dev/null 2>&1 & ` +
        `touch /root/${marker}; for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/${otherPort}) 2>/dev/null && break; sleep 0.2; done`,
    );
    const args = JSON.stringify({
      serverPort: Number(new URL(server.url).port),
      // Every address this host has (the server binds loopback, but an operator may bind more), and the engine's.
      hostAddrs: Object.values(os.networkInterfaces())
        .flat()
        .filter((i) => i && i.family === 'IPv4')
        .map((i) => i!.address),
      otherMarkerReversed: [...marker].reverse().join(''),
      otherPort,
    });
    // The same look from inside the other sandbox sees all three: the probe can tell seen from unseen.
    otherFromItself = await runProbe<Denial>(b, ['other', args]);
    results = await runProbe<Record<string, Denial>>(a, ['denials', args], 120_000);
  });
  afterAll(async () => {
    a?.close();
    b?.close();
  });

  const token = (s: { token: string }) => s.token;

  const cases: [key: string, what: string][] = [
    ['mount', 'mount'],
    ['proc-sys', 'writing /proc/sys and /proc/sysrq-trigger'],
    ['modules', 'loading and removing kernel modules'],
    ['raw-sockets', 'raw and packet sockets'],
    ['keyctl', 'the kernel keyring (keyctl, add_key, request_key)'],
    ['mknod', 'creating device nodes'],
    ['docker-socket', 'the Docker and containerd sockets'],
    ['docker-api', 'the Docker API over TCP (host addresses, docker0, loopback)'],
    ['outbound', 'any outbound connection (TCP, UDP, IPv6, DNS)'],
    ['server', "the opslab server's port on every host address"],
    ['other-sandbox', "another sandbox's processes, loopback listener and files"],
  ];

  it.each(cases)('refuses %s (%s)', (key) => {
    const result = results[key]!;
    expect(result, `no result for ${key}`).toBeDefined();
    figure(ITEM, key, summary(result));
    expect(result.refused, `${key}: ${result.detail}`).toBe(true);
    expect(result.detail).not.toContain('ALLOWED');
  });

  it('the other sandbox sees its own process, listener and file (so the look above can see)', () => {
    expect(otherFromItself.detail.split(', ').every((part) => part.endsWith('ALLOWED')), otherFromItself.detail).toBe(true);
  });

  it('refuses new namespaces where they would be the host kernel’s', async () => {
    const result = results['namespaces']!;
    figure(ITEM, 'namespaces', summary(result));
    if (!gvisor) {
      // runc: unshare is the host kernel's; the default seccomp profile and the missing CAP_SYS_ADMIN refuse it.
      expect(result.refused, result.detail).toBe(true);
      expect(result.detail).not.toContain('ALLOWED');
    } else {
      // gVisor: namespaces made by the shell are the Sentry's own objects, never the host kernel's, so they are
      // recorded rather than asserted. The sandbox still has no network of its own to reach with them: the
      // engine gives it none (checked here) and its only link is loopback (item 1).
      const info = await docker.getContainer(sandboxA).inspect();
      expect(info.HostConfig.NetworkMode).toBe('none');
      expect(Object.keys(info.NetworkSettings.Networks ?? {})).toEqual(['none']);
    }
  });
});
