import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultGradingConcurrency, loadConfig } from '../../server/src/config.js';
import { CAPABILITY_ALLOWLIST } from '../../server/src/sandbox/policy.js';

describe('config', () => {
  it('has documented defaults', () => {
    const c = loadConfig({}, '/srv/opslab');
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(8080);
    expect(c.publicUrl).toBe('http://127.0.0.1:8080');
    expect(c.dataDir).toBe(path.resolve('/srv/opslab/data'));
    expect(c.allowedOrigins).toEqual(['http://127.0.0.1:8080']);
    expect(c.sandbox).toMatchObject({ memoryMb: 512, cpus: 1, pids: 256, runtime: 'runc' });
    expect(c.maxSandboxes).toBe(20);
    expect(c.grading).toMatchObject({ maxQueued: 10, checkIntervalMs: 10_000 });
    expect(c.grading.concurrency).toBe(defaultGradingConcurrency(20));
  });

  it('sizes grading concurrency from the cores and a quarter of the sandboxes, and takes the operator\'s', () => {
    expect(defaultGradingConcurrency(20, 2)).toBe(1);
    expect(defaultGradingConcurrency(20, 64)).toBe(5);
    expect(defaultGradingConcurrency(2, 64)).toBe(1);
    expect(loadConfig({ OPSLAB_GRADING_CONCURRENCY: '3', OPSLAB_GRADING_QUEUE_MAX: '0', OPSLAB_CHECK_INTERVAL_SECONDS: '2' }).grading).toEqual({
      concurrency: 3,
      maxQueued: 0,
      checkIntervalMs: 2000,
    });
    expect(() => loadConfig({ OPSLAB_GRADING_CONCURRENCY: '0' })).toThrow('OPSLAB_GRADING_CONCURRENCY');
  });

  it.each([
    ['OPSLAB_PORT', 'eighty'],
    ['OPSLAB_PORT', '70000'],
    ['OPSLAB_SANDBOX_MEMORY_MB', '12.5'],
    ['OPSLAB_SANDBOX_CPUS', '-1'],
    ['OPSLAB_ALLOWED_ORIGINS', 'https://ok.example.com,not a url'],
    ['OPSLAB_ALLOWED_ORIGINS', 'https://example.com/path'],
    ['OPSLAB_PUBLIC_URL', 'lab.example.com'],
    ['OPSLAB_SANDBOX_RUNTIME', 'runc; rm -rf /'],
  ])('rejects %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('trusts no proxy by default, and only the addresses OPSLAB_TRUST_PROXY lists', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ OPSLAB_TRUST_PROXY: 'off' }).trustProxy).toBe(false);
    expect(loadConfig({ OPSLAB_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1' }).trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8', '::1']);
    expect(() => loadConfig({ OPSLAB_TRUST_PROXY: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ OPSLAB_TRUST_PROXY: 'proxy.example.com' })).toThrow(/OPSLAB_TRUST_PROXY/);
  });

  it('adds configured origins to the public one', () => {
    const c = loadConfig({ OPSLAB_PUBLIC_URL: 'https://lab.example.com/', OPSLAB_ALLOWED_ORIGINS: 'https://a.example.com' });
    expect(c.publicUrl).toBe('https://lab.example.com');
    expect(c.allowedOrigins).toEqual(['https://lab.example.com', 'https://a.example.com']);
  });

  it('keeps the capability allow-list by default, and lets the operator only take capabilities away', () => {
    expect(loadConfig({}).sandbox.capabilities).toEqual([...CAPABILITY_ALLOWLIST]);
    expect(loadConfig({ OPSLAB_SANDBOX_CAPABILITIES: 'cap_kill, CHOWN kill' }).sandbox.capabilities).toEqual(['KILL', 'CHOWN']);
    expect(loadConfig({ OPSLAB_SANDBOX_CAPABILITIES: 'none' }).sandbox.capabilities).toEqual([]);
    expect(() => loadConfig({ OPSLAB_SANDBOX_CAPABILITIES: 'KILL,SYS_ADMIN' })).toThrow(/OPSLAB_SANDBOX_CAPABILITIES.*never more/);
  });
});

describe('OPSLAB_EXERCISES_GIT settings', () => {
  it('reads the repositories and the defaults', () => {
    const c = loadConfig({ OPSLAB_EXERCISES_GIT: 'https://git.example.com/a.git#main, ./b.git' }, '/opt/opslab').exercisesGit;
    expect(c.sources).toEqual([
      { url: 'https://git.example.com/a.git', ref: 'main' },
      { url: '/opt/opslab/b.git', ref: null },
    ]);
    expect(c).toMatchObject({ intervalMs: 300_000, timeoutMs: 120_000, maxBytes: 200 * 1024 * 1024, selfTestSeeds: 2, selfTestParallel: 1 });
    expect(loadConfig({}).exercisesGit.sources).toEqual([]);
    expect(loadConfig({ OPSLAB_EXERCISES_GIT_INTERVAL_SECONDS: '0' }).exercisesGit.intervalMs).toBe(0);
  });

  it('stops on a bad repository or setting, naming the variable and the reason, never a credential', () => {
    expect(() => loadConfig({ OPSLAB_EXERCISES_GIT: 'http://git.example.com/a.git' })).toThrow(/OPSLAB_EXERCISES_GIT=.*only file:\/\/, https:\/\/ and ssh:\/\//);
    expect(() => loadConfig({ OPSLAB_EXERCISES_GIT: '/a.git#-x' })).toThrow(ConfigError);
    expect(() => loadConfig({ OPSLAB_EXERCISES_GIT_INTERVAL_SECONDS: '-1' })).toThrow('OPSLAB_EXERCISES_GIT_INTERVAL_SECONDS');
    expect(() => loadConfig({ OPSLAB_EXERCISES_GIT_SELFTEST_PARALLEL: '0' })).toThrow('OPSLAB_EXERCISES_GIT_SELFTEST_PARALLEL');
    expect(() => loadConfig({ OPSLAB_EXERCISES_GIT_MAX_MB: 'lots' })).toThrow('OPSLAB_EXERCISES_GIT_MAX_MB');
    let message = '';
    try {
      loadConfig({ OPSLAB_EXERCISES_GIT: 'gopher://user:s3cret@git.example.com/a.git' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('OPSLAB_EXERCISES_GIT');
    expect(message).toContain('gopher://git.example.com/a.git');
    expect(message).not.toContain('s3cret');
  });
});

describe('replica settings', () => {
  it('defaults to an id kept in the data directory, this host and port as the internal address, and a 10 s lease', () => {
    expect(loadConfig({}).replica).toEqual({ id: null, internalUrl: 'http://127.0.0.1:8080', leaseMs: 10_000 });
    expect(loadConfig({ OPSLAB_HOST: '0.0.0.0', OPSLAB_PORT: '9000' }).replica.internalUrl).toBe('http://127.0.0.1:9000');
    expect(loadConfig({ OPSLAB_HOST: '10.1.2.3' }).replica.internalUrl).toBe('http://10.1.2.3:8080');
    expect(loadConfig({ OPSLAB_HOST: 'fd00::5' }).replica.internalUrl).toBe('http://[fd00::5]:8080');
    expect(
      loadConfig({ OPSLAB_REPLICA_ID: 'opslab-server-7d9f8-x2x9z', OPSLAB_INTERNAL_URL: 'https://10.0.0.5:8443/', OPSLAB_LEASE_SECONDS: '30' }).replica,
    ).toEqual({ id: 'opslab-server-7d9f8-x2x9z', internalUrl: 'https://10.0.0.5:8443', leaseMs: 30_000 });
  });

  it('stops on a bad id, address or lease, naming the variable', () => {
    for (const id of ['Replica-A', '-a', 'a_b', 'x'.repeat(64), 'a.b']) {
      expect(() => loadConfig({ OPSLAB_REPLICA_ID: id }), id).toThrow('OPSLAB_REPLICA_ID');
    }
    for (const url of ['10.0.0.5:8080', 'ftp://10.0.0.5', 'http://10.0.0.5:8080/opslab', 'http://10.0.0.5/?x=1']) {
      expect(() => loadConfig({ OPSLAB_INTERNAL_URL: url }), url).toThrow('OPSLAB_INTERNAL_URL');
    }
    expect(() => loadConfig({ OPSLAB_LEASE_SECONDS: '2' })).toThrow('OPSLAB_LEASE_SECONDS');
  });
});
