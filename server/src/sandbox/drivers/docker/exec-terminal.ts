// A further shell in a running sandbox: `bash -l` as root with a TTY, started through the engine's exec API.
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { ExecTerminalOptions } from '../../sandbox-driver.js';
import type { TerminalSession } from '../../../terminal/terminal-session.js';
import { StreamTerminalSession } from './terminal-session.js';

/** The environment variable naming which terminal of the attempt an exec'd shell is (and its children are). */
export const TERMINAL_ENV = 'OPSLAB_TERMINAL';

/**
 * Hangs up the exec'd shells an earlier server left behind under this terminal's name, and waits (up to about five
 * seconds) until they are gone, so the new shell never runs beside the old one. The engine cannot attach to an exec
 * again once its stream is gone, and it does not end the process when the stream closes: a shell whose server
 * restarted would otherwise idle in the sandbox for the rest of the attempt. Best effort, bounded.
 */
async function hangUpEarlier(docker: Docker, id: string, name: string): Promise<void> {
  // A process counts as gone once its /proc entry is, or it is a zombie (dead, waiting for the engine to reap it).
  const script =
    `hung=; for p in /proc/[0-9]*; do ` +
    `tr '\\0' '\\n' < "$p/environ" 2>/dev/null | grep -qx '${TERMINAL_ENV}=${name}' && kill -HUP "\${p#/proc/}" 2>/dev/null && hung="$hung \${p#/proc/}"; ` +
    `done; ` +
    `i=0; while [ -n "$hung" ] && [ $i -lt 50 ]; do left=; for q in $hung; do ` +
    `s=$(sed -n 's/^.*) \\(.\\).*$/\\1/p' "/proc/$q/stat" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ] && left="$left $q"; ` +
    `done; hung=$left; [ -n "$hung" ] && sleep 0.1; i=$((i+1)); done; exit 0`;
  try {
    // Its output is attached (and read) so that the stream ends when the script does: an exec with nothing attached
    // may hand back a stream that ends at once, before the earlier shell is gone.
    const exec = await docker.getContainer(id).exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true, User: 'root' });
    const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Duplex;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        stream.destroy();
        resolve();
      }, 8_000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', done);
      stream.resume();
    });
  } catch {
    /* the sandbox does not run, or has no sh: nothing to hang up */
  }
}

/** Starts `bash -l` as root on a new TTY of the size given; the session carries its bytes both ways. */
export async function execTty(docker: Docker, id: string, opts: ExecTerminalOptions): Promise<TerminalSession> {
  await hangUpEarlier(docker, id, opts.name);
  const container = docker.getContainer(id);
  const exec = await container.exec({
    Cmd: ['bash', '-l'],
    Tty: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    User: 'root',
    WorkingDir: '/root',
    Env: ['TERM=xterm-256color', `${TERMINAL_ENV}=${opts.name}`],
    ConsoleSize: [opts.rows, opts.cols],
  } as Docker.ExecCreateOptions);
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true } as Docker.ExecStartOptions)) as unknown as Duplex;
  // Closing the session lets go of the stream; the engine keeps the shell running (hung up by the next execTty of
  // the same name).
  const session = new StreamTerminalSession(stream, (size) => exec.resize(size));
  await session.resize(opts.cols, opts.rows).catch(() => undefined);
  return session;
}
