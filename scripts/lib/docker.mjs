// Reach (and, as root on Debian/Ubuntu, install and start) the Docker engine; stop one this run started.
// Plain Node, no npm dependencies. Stops nothing but the dockerd whose pid it is given.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { aptInstall, registerRunsc } from './system.mjs';
import { isRoot, say, which } from './util.mjs';

/**
 * Where the engine listens: DOCKER_HOST when it is unix:// or tcp:// (plain http),
 * else /var/run/docker.sock.
 */
export function dockerEndpoint(env = process.env) {
  const dh = env.DOCKER_HOST?.trim();
  if (dh?.startsWith('unix://')) return { socketPath: dh.slice('unix://'.length), label: dh };
  if (dh?.startsWith('tcp://') || dh?.startsWith('http://')) {
    const u = new URL(dh.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port || 2375), label: dh };
  }
  return { socketPath: '/var/run/docker.sock', label: 'unix:///var/run/docker.sock' };
}

/** GET /_ping; resolves true when the engine answers 200 "OK". Never rejects. */
export function pingDocker(timeoutMs = 3000, endpoint = dockerEndpoint()) {
  return new Promise((resolve) => {
    const { label: _label, ...target } = endpoint;
    const req = http.get({ ...target, path: '/_ping', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitForDocker(totalMs, endpoint = dockerEndpoint()) {
  const until = Date.now() + totalMs;
  while (Date.now() < until) {
    if (await pingDocker(2000, endpoint)) return true;
    await sleep(500);
  }
  return false;
}

/**
 * null when this script could start an engine itself (root on Debian/Ubuntu, the default socket), else what the
 * user has to do.
 */
export function engineStartProblem(endpoint = dockerEndpoint(), { root = isRoot(), debianLike = existsSync('/etc/debian_version') } = {}) {
  const local = Boolean(endpoint.socketPath);
  const defaultSocket = endpoint.socketPath === '/var/run/docker.sock';
  if (local && defaultSocket && root && debianLike) return null;
  if (!local || !defaultSocket) return `start the engine that DOCKER_HOST=${process.env.DOCKER_HOST} points to, or unset DOCKER_HOST`;
  if (debianLike) {
    return 'as root: apt-get install -y docker.io && setsid dockerd >/var/log/dockerd.log 2>&1 & ' +
      '(or run this as root and it does so), or add your user to the docker group if an engine runs';
  }
  return 'install Docker Engine for your distribution and start it (systemctl start docker)';
}

/**
 * Make sure an engine answers. As root on Debian/Ubuntu: install docker.io when dockerd is missing, start dockerd
 * detached (own session, log in <dataDir>/<logName>) and wait up to 60 s. With registerGvisor, runsc (when
 * installed) is registered in /etc/docker/daemon.json before that dockerd starts. Otherwise throw an Error whose
 * message says what to install or start.
 * Resolves { started, pid, endpoint, runsc }: runsc is 'registered' | 'present' when this run's engine has gVisor.
 */
export async function ensureDockerEngine({ dataDir, registerGvisor = false, logName = 'dockerd.log' }) {
  const endpoint = dockerEndpoint();
  if (await pingDocker(3000, endpoint)) return { started: false, endpoint, runsc: null };

  const problem = engineStartProblem(endpoint);
  if (problem) throw new Error(`the Docker engine does not answer at ${endpoint.label}: ${problem}`);

  if (!which('dockerd')) {
    say('dockerd not found: installing docker.io with apt-get');
    await aptInstall(['docker.io']);
  }
  const dockerd = which('dockerd');
  if (!dockerd) throw new Error('dockerd is still missing after installing docker.io');

  let runsc = null;
  const runscPath = registerGvisor ? which('runsc') : null;
  if (runscPath) {
    try {
      runsc = registerRunsc(runscPath);
      say(runsc === 'registered' ? 'registered runsc in /etc/docker/daemon.json' : 'daemon.json already registers runsc');
    } catch (err) {
      say(`warning: could not register runsc in /etc/docker/daemon.json (${err.message}); the gVisor pass will be skipped`);
    }
  }

  mkdirSync(dataDir, { recursive: true });
  const logFile = path.resolve(dataDir, logName);
  const fd = openSync(logFile, 'a');
  // detached: the child calls setsid(), so it outlives this script and its terminal unless stopped by pid.
  const child = spawn(dockerd, [], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  say(`started dockerd (pid ${child.pid}, log ${logFile})`);
  if (!(await waitForDocker(60_000, endpoint))) {
    const tail = (() => {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
      } catch {
        return '';
      }
    })();
    if (child.pid) stopDockerd(child.pid);
    throw new Error(`dockerd (pid ${child.pid}) did not answer within 60 s; the end of ${logFile}:\n${tail}`);
  }
  return { started: true, pid: child.pid, endpoint, runsc };
}

/** Whether pid is a live (not zombie) process named `name`. */
function alive(pid, name) {
  try {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== name) return false;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Stops the dockerd with this pid (and nothing else): SIGTERM, up to 30 s for it to stop its containers and exit,
 * then SIGKILL. Synchronous, so that it also works from an exit handler. Returns true when it is gone.
 */
export function stopDockerd(pid, { graceMs = 30_000 } = {}) {
  if (!alive(pid, 'dockerd')) return true;
  say(`stopping the dockerd this run started (pid ${pid})`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return true;
  }
  const tick = new Int32Array(new SharedArrayBuffer(4));
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if (!alive(pid, 'dockerd')) return true;
    Atomics.wait(tick, 0, 0, 200);
  }
  say(`dockerd (pid ${pid}) did not stop within ${Math.round(graceMs / 1000)} s: SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  Atomics.wait(tick, 0, 0, 500);
  return !alive(pid, 'dockerd');
}

// `node scripts/lib/docker.mjs ping`: exit 0 when the engine answers.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === 'ping') {
  process.exit((await pingDocker(Number(process.argv[3] ?? 3000))) ? 0 : 1);
}
