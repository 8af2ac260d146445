// Facts about the machine the engine runs on, and running host commands.
import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import path from 'node:path';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** An executable in PATH, or in the sbin directories a non-login PATH may lack. */
export function which(cmd: string): string | null {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const extra of ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin']) {
    if (!dirs.includes(extra)) dirs.push(extra);
  }
  for (const dir of dirs) {
    try {
      accessSync(path.join(dir, cmd), constants.X_OK);
      return path.join(dir, cmd);
    } catch {
      // next
    }
  }
  return null;
}

export interface CommandResult {
  code: number;
  /** the last lines of stdout and stderr together */
  tail: string;
}

/** Run a command, keeping only the end of its output (for error messages). */
export function runCommand(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    let out = '';
    const keep = (c: Buffer) => {
      out = (out + c.toString()).slice(-8000);
    };
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => resolve({ code: 127, tail: `${cmd}: ${err.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, tail: out.split('\n').slice(-30).join('\n') }));
  });
}

/**
 * CA certificates added locally on the host (Debian's /usr/local/share/ca-certificates, *.crt),
 * e.g. for a TLS-intercepting proxy between this machine and the package registries.
 */
export function hostExtraCaFiles(dir = '/usr/local/share/ca-certificates'): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const abs = path.join(d, e.name);
      if (e.isDirectory()) walk(abs);
      else if (e.name.endsWith('.crt')) out.push(abs);
    }
  };
  walk(dir);
  return out;
}
