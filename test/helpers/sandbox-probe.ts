import fs from 'node:fs';
import Docker from 'dockerode';
import type { SandboxDriver } from '../../server/src/sandbox/sandbox-driver.js';
import { packFiles } from '../../server/src/local-tar.js';
import { stripAnsi, type TestTerminal } from './terminal-client.js';

/**
 * Probes that run inside a sandbox AS THE CANDIDATE: typed into the attempt's own shell through the terminal, so
 * they have exactly the shell's credentials, seccomp filter and namespaces. (Under gVisor a `docker exec`
 * process does not get the OCI seccomp filter that the shell has: probing through exec would not be the truth.)
 */
export const PROBE_DIR = '/usr/local/share/opslab-probe';

/** Linux capability numbers (include/uapi/linux/capability.h) of the allow-list. */
const CAP_NUMBERS: Record<string, number> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  NET_BIND_SERVICE: 10,
};

/** The capability mask (as /proc/<pid>/status shows CapEff) of these capabilities of the allow-list. */
export const capabilityMask = (caps: readonly string[]): bigint =>
  caps.reduce((mask, cap) => {
    const n = CAP_NUMBERS[cap];
    if (n === undefined) throw new Error(`no capability number for ${cap}`);
    return mask | (1n << BigInt(n));
  }, 0n);
export const PROBE = `${PROBE_DIR}/probe.py`;

const PROBE_PY = String.raw`
import ctypes, errno, json, os, socket, stat, sys, resource

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def name(e):
    return errno.errorcode.get(e, str(e))

def syscall(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *args)
    return r, ctypes.get_errno()

def emit(obj):
    sys.stdout.write('@@probe@@' + json.dumps(obj, sort_keys=True) + '@@end@@\n')
    sys.stdout.flush()

def posture():
    out = {}
    with open('/proc/self/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('CapEff', 'CapPrm', 'CapBnd', 'CapInh', 'CapAmb', 'NoNewPrivs', 'Seccomp'):
                out['status' + k] = v.strip()
    out['noNewPrivs'] = libc.prctl(39, 0, 0, 0, 0)   # PR_GET_NO_NEW_PRIVS
    out['seccomp'] = libc.prctl(21, 0, 0, 0, 0)      # PR_GET_SECCOMP: 2 = filter mode
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    out['nproc'] = -1 if soft == resource.RLIM_INFINITY else soft
    out['nofile'] = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    cg = {}
    for f in ('pids/pids.max', 'memory/memory.limit_in_bytes', 'memory/memory.memsw.limit_in_bytes',
              'cpu/cpu.cfs_quota_us', 'cpu/cpu.cfs_period_us', 'pids.max', 'memory.max', 'memory.swap.max', 'cpu.max'):
        try:
            with open('/sys/fs/cgroup/' + f) as fh:
                cg[f] = fh.read().strip()
        except Exception:
            pass
    out['cgroup'] = cg
    out['links'] = sorted(n for _, n in socket.if_nameindex())
    out['uid'] = os.getuid()
    emit(out)

def connect(family, kind, addr, timeout=2.0):
    s = socket.socket(family, kind)
    s.settimeout(timeout)
    try:
        s.connect(addr)
        return None
    except OSError as e:
        return name(e.errno) if e.errno else type(e).__name__
    finally:
        s.close()

def check(results, key, attempts):
    # attempts: list of (label, error-or-None); refused when every attempt failed.
    results[key] = {'refused': all(err is not None for _, err in attempts),
                    'detail': ', '.join('%s: %s' % (l, err or 'ALLOWED') for l, err in attempts)}

def try_call(fn):
    try:
        fn()
        return None
    except OSError as e:
        return name(e.errno) if e.errno else type(e).__name__

def denials(args):
    r = {}
    rc, e = (libc.mount(b'none', b'/mnt', b'tmpfs', 0, None), ctypes.get_errno())
    check(r, 'mount', [('mount tmpfs', None if rc == 0 else name(e))])
    attempts = []
    for path in ('/proc/sys/kernel/hostname', '/proc/sys/vm/overcommit_memory', '/proc/sys/kernel/sysrq', '/proc/sysrq-trigger'):
        def w(path=path):
            with open(path, 'w') as fh:
                fh.write('1')
        attempts.append((path, try_call(w)))
    check(r, 'proc-sys', attempts)
    fd = os.open('/dev/null', os.O_RDONLY)
    attempts = []
    for label, nr, a in (('init_module', 175, (None, 0, b'')), ('finit_module', 313, (fd, b'', 0)), ('delete_module', 176, (b'loop', 0))):
        rc, e = syscall(nr, *a)
        attempts.append((label, None if rc == 0 else name(e)))
    os.close(fd)
    check(r, 'modules', attempts)
    attempts = []
    for label, fam, kind, proto in (('AF_INET SOCK_RAW', socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
                                    ('AF_PACKET SOCK_RAW', socket.AF_PACKET, socket.SOCK_RAW, 0)):
        attempts.append((label, try_call(lambda: socket.socket(fam, kind, proto).close())))
    check(r, 'raw-sockets', attempts)
    attempts = []
    for label, nr, a in (('keyctl', 250, (0, ctypes.c_long(-3), 1)), ('add_key', 248, (b'user', b'k', b'v', 1, ctypes.c_long(-3))),
                         ('request_key', 249, (b'user', b'k', None, 0))):
        rc, e = syscall(nr, *a)
        attempts.append((label, None if rc >= 0 else name(e)))
    check(r, 'keyctl', attempts)
    attempts = []
    for label, flag in (('unshare user', 0x10000000), ('unshare mount', 0x00020000), ('unshare net', 0x40000000)):
        ctypes.set_errno(0)
        rc = libc.unshare(flag)
        attempts.append((label, None if rc == 0 else name(ctypes.get_errno())))
    check(r, 'namespaces', attempts)
    check(r, 'mknod', [('block device', try_call(lambda: os.mknod('/root/.opslab-blk', 0o600 | stat.S_IFBLK, os.makedev(8, 0))))])
    attempts = []
    for path in ('/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock',
                 '/var/run/docker/containerd/containerd.sock', '/run/podman/podman.sock'):
        attempts.append((path, connect(socket.AF_UNIX, socket.SOCK_STREAM, path)))
    check(r, 'docker-socket', attempts)
    attempts = []
    for host in args['hostAddrs'] + ['172.17.0.1', '127.0.0.1']:
        for port in (2375, 2376):
            attempts.append(('%s:%d' % (host, port), connect(socket.AF_INET, socket.SOCK_STREAM, (host, port))))
    check(r, 'docker-api', attempts)
    attempts = [('tcp 1.1.1.1:80', connect(socket.AF_INET, socket.SOCK_STREAM, ('1.1.1.1', 80))),
                ('tcp 8.8.8.8:53', connect(socket.AF_INET, socket.SOCK_STREAM, ('8.8.8.8', 53))),
                ('tcp6 [2606:4700:4700::1111]:443', connect(socket.AF_INET6, socket.SOCK_STREAM, ('2606:4700:4700::1111', 443)))]
    def udp():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.sendto(b'\0' * 12, ('8.8.8.8', 53))
        finally:
            s.close()
    attempts.append(('udp 8.8.8.8:53', try_call(udp)))
    try:
        socket.getaddrinfo('example.com', 80)
        attempts.append(('dns example.com', None))
    except socket.gaierror as e:
        attempts.append(('dns example.com', 'no name resolution'))
    check(r, 'outbound', attempts)
    attempts = []
    for host in args['hostAddrs'] + ['127.0.0.1']:
        attempts.append(('%s:%d' % (host, args['serverPort']), connect(socket.AF_INET, socket.SOCK_STREAM, (host, args['serverPort']))))
    check(r, 'server', attempts)
    r['other-sandbox'] = other(args)
    emit(r)

def other(args):
    # What this sandbox can see of another one: its processes, its loopback listener, its files.
    # Passed reversed, so this probe's own command line does not hold the marker it looks for.
    marker = args['otherMarkerReversed'][::-1]
    seen = []
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as fh:
                    if marker.encode() in fh.read():
                        seen.append(pid)
            except OSError:
                pass
    attempts = [('process %s' % marker, 'not visible' if not seen else None),
                ('127.0.0.1:%d' % args['otherPort'], connect(socket.AF_INET, socket.SOCK_STREAM, ('127.0.0.1', args['otherPort']))),
                ('file /root/%s' % marker, 'absent' if not os.path.exists('/root/' + marker) else None)]
    out = {}
    check(out, 'x', attempts)
    return out['x']

if __name__ == '__main__':
    if sys.argv[1] == 'posture':
        posture()
    elif sys.argv[1] == 'denials':
        denials(json.loads(sys.argv[2]))
    elif sys.argv[1] == 'other':
        emit(other(json.loads(sys.argv[2])))
`;

/** Puts the probe script into the sandbox (root-owned, outside /tmp: under gVisor /tmp is the Sentry's own tmpfs). */
export async function putProbe(driver: SandboxDriver, sandboxId: string): Promise<void> {
  const tar = packFiles([{ name: 'probe.py', content: PROBE_PY, mode: 0o755 }]);
  await driver.exec(sandboxId, ['mkdir', '-p', PROBE_DIR], { timeoutMs: 20_000 });
  await driver.copyIn(sandboxId, PROBE_DIR, tar);
}

/** A started sandbox of the base image under the given policy's limits, for tests that drive the driver directly. */
export async function startBaseSandbox(
  driver: SandboxDriver,
  policy: { memoryMb: number; cpus: number; pids: number },
  exerciseId: string,
): Promise<string> {
  const id = await driver.create({
    attemptId: `${exerciseId.slice(0, 12)}-${Math.random().toString(36).slice(2, 10)}`,
    exerciseId,
    image: 'opslab/sandbox-base:latest',
    limits: { memoryMb: policy.memoryMb, cpus: policy.cpus, pids: policy.pids },
  });
  await driver.start(id);
  return id;
}

/** Runs a bash script as root in the sandbox (what a candidate could do there); throws when it fails. */
export async function plant(driver: SandboxDriver, sandboxId: string, script: string): Promise<void> {
  const r = await driver.exec(sandboxId, ['bash', '-c', script], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`planting failed (${r.exitCode}): ${r.stdout}${r.stderr}`);
}

let serial = 0;

/**
 * Types `command` into the candidate's shell and returns what it printed (escape sequences and CRs removed). The
 * markers are typed split in two, so the echo of the typed line never matches them.
 */
export async function shellRun(term: TestTerminal, command: string, timeoutMs = 30_000): Promise<string> {
  const id = `${process.pid}x${++serial}`;
  const from = term.text.length;
  term.type(`echo "@@run""-begin-${id}@@"; ${command}; echo "@@run""-end-${id}@@"\r`);
  const begin = `@@run-begin-${id}@@`;
  const end = `@@run-end-${id}@@`;
  await term.waitFor(() => term.text.indexOf(end, from) >= 0, timeoutMs);
  const out = stripAnsi(term.text.slice(from));
  return out.slice(out.indexOf(begin) + begin.length, out.lastIndexOf(end)).trim();
}

/** Runs the probe with a subcommand in the candidate's shell and parses its JSON answer. */
export async function runProbe<T>(term: TestTerminal, args: string[], timeoutMs = 60_000): Promise<T> {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = await shellRun(term, `python3 ${PROBE} ${quoted}`, timeoutMs);
  const m = /@@probe@@(.*)@@end@@/s.exec(out.replace(/\n/g, ''));
  if (!m) throw new Error(`the probe printed no answer: ${JSON.stringify(out.slice(-600))}`);
  return JSON.parse(m[1]!) as T;
}

export interface Denial {
  refused: boolean;
  detail: string;
}

/**
 * A value of the container's cgroup as the host kernel enforces it (cgroup v1 or v2), read on the host through
 * the container's main process. Needs the engine on this machine (tests run next to it).
 */
export async function hostCgroup(docker: Docker, containerId: string, controller: string, file: string): Promise<string> {
  const info = await docker.getContainer(containerId).inspect();
  const pid = info.State.Pid;
  if (!pid) throw new Error(`container ${containerId} has no process`);
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = lines.find((l) => l.split(':')[1]!.split(',').includes(controller));
  if (v1) return fs.readFileSync(`/sys/fs/cgroup/${controller}${v1.split(':')[2]}/${file}`, 'utf8').trim();
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (!v2) throw new Error(`no ${controller} cgroup for pid ${pid}`);
  return fs.readFileSync(`/sys/fs/cgroup${v2.slice(3)}/${file}`, 'utf8').trim();
}

/** p-th percentile (0..100) of the values, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Keystroke echo through the attempt's terminal: types one character, waits for it to come back, then erases it
 * with a backspace (waited for too, so the line stays empty). Returns each echo time (ms).
 */
export async function echoTimes(term: TestTerminal, n: number, timeoutMs = 10_000): Promise<number[]> {
  const times: number[] = [];
  const keys = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; i < n; i++) {
    const key = keys[i % keys.length]!;
    let from = term.text.length;
    const t0 = performance.now();
    term.type(key);
    await term.waitFor(() => term.text.indexOf(key, from) >= 0, timeoutMs);
    times.push(performance.now() - t0);
    from = term.text.length;
    term.type('\x7f');
    await term.waitFor(() => term.text.indexOf('\b', from) >= 0, timeoutMs);
  }
  return times;
}
