// Reach (and, as root on Debian/Ubuntu, install and start) the Docker engine.
// Plain Node, no npm dependencies. Never stops or kills anything.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isRoot, run, say, which } from './util.mjs';

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
 * Make sure an engine answers. As root on Debian/Ubuntu: install docker.io when dockerd is
 * missing, start dockerd detached (own session, log in <dataDir>/dockerd.log) and wait up to 60 s.
 * Otherwise throw an Error whose message says what to install or start.
 */
export async function ensureDockerEngine({ dataDir }) {
  const endpoint = dockerEndpoint();
  if (await pingDocker(3000, endpoint)) return { started: false, endpoint };

  const local = Boolean(endpoint.socketPath);
  const defaultSocket = endpoint.socketPath === '/var/run/docker.sock';
  const debianLike = existsSync('/etc/debian_version');
  if (!local || !defaultSocket || !isRoot() || !debianLike) {
    const how = !local || !defaultSocket
      ? `start the engine that DOCKER_HOST=${process.env.DOCKER_HOST} points to, or unset DOCKER_HOST`
      : debianLike
        ? 'as root: apt-get install -y docker.io && setsid dockerd >/var/log/dockerd.log 2>&1 & ' +
          '(or let `sudo npm start` do it), or add your user to the docker group if an engine runs'
        : 'install Docker Engine for your distribution and start it (systemctl start docker)';
    throw new Error(`the Docker engine does not answer at ${endpoint.label}: ${how}`);
  }

  if (!which('dockerd')) {
    say('dockerd not found: installing docker.io with apt-get');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if ((await run('apt-get', ['update', '-q'], { env })) !== 0) throw new Error('apt-get update failed');
    if ((await run('apt-get', ['install', '-y', '-q', 'docker.io'], { env })) !== 0) {
      throw new Error('apt-get install docker.io failed');
    }
  }
  const dockerd = which('dockerd');
  if (!dockerd) throw new Error('dockerd is still missing after installing docker.io');

  mkdirSync(dataDir, { recursive: true });
  const logFile = path.resolve(dataDir, 'dockerd.log');
  const fd = openSync(logFile, 'a');
  // detached: the child calls setsid(), so it outlives this script and its terminal.
  const child = spawn(dockerd, [], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  say(`started dockerd (pid ${child.pid}, log ${logFile}); it keeps running after this script`);
  if (!(await waitForDocker(60_000, endpoint))) {
    throw new Error(`dockerd (pid ${child.pid}) did not answer within 60 s: see ${logFile}`);
  }
  return { started: true, pid: child.pid, endpoint };
}

// `node scripts/lib/docker.mjs ping`: exit 0 when the engine answers (used by .ci/run).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === 'ping') {
  process.exit((await pingDocker(Number(process.argv[3] ?? 3000))) ? 0 : 1);
}
