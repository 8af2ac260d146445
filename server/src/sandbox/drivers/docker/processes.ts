// A container's processes as the engine lists them from outside (ps on its host): nothing runs inside the sandbox.
import type Docker from 'dockerode';
import type { SandboxProcess } from '../../sandbox-driver.js';
import { statusOf } from './errors.js';

/** The engine's answer to GET /containers/{id}/top. */
export interface TopResult {
  Titles?: string[];
  Processes?: string[][];
}

/** The columns asked of ps; args last, since it may hold spaces. */
export const PS_ARGS = '-o pid,ppid,uid,stat,args';
/** The same command lines followed by each process's environment (procps' BSD `e` flag). */
export const PS_ENV_ARGS = '-o pid,args e';
/**
 * procps cuts a command line with its environment at about 128 KiB: text this long may have lost variables at its
 * end, so its environment counts as unknown.
 */
export const PS_ENV_MAX_CHARS = 126 * 1024;

/** The processes of a running container; an empty list when it is not running or gone. */
export async function listProcesses(docker: Docker, id: string): Promise<SandboxProcess[]> {
  const container = docker.getContainer(id);
  let top: TopResult;
  try {
    // The engine lists a container's processes by running ps on its host for the container's process ids. Under
    // another runtime than runc (gVisor's runsc) those are the ids inside the sandbox's own kernel, and the list
    // would name whatever host processes have the same ids: refuse rather than mislead a check.
    const runtime = (await container.inspect()).HostConfig?.Runtime ?? 'runc';
    if (runtime !== 'runc' && runtime !== '') {
      throw new Error(`the engine cannot list the processes of a sandbox under the ${runtime} runtime`);
    }
    // The engine runs ps on its host for the container's processes: nothing runs inside the sandbox.
    top = (await container.top({ ps_args: PS_ARGS })) as TopResult;
  } catch (err) {
    // 409: not running; 404: gone. Either way no process runs there.
    const status = statusOf(err);
    if (status === 409 || status === 404) return [];
    throw err;
  }
  const list = parseTop(top);
  // The environments, by a second listing. An engine whose ps has no `e` flag (or a container gone meanwhile)
  // leaves them unknown: the list itself still stands.
  let withEnv: TopResult | null = null;
  try {
    withEnv = (await container.top({ ps_args: PS_ENV_ARGS })) as TopResult;
  } catch {
    withEnv = null;
  }
  return withEnv ? addEnvironments(list, withEnv) : list;
}

/** ps's table, by its column titles; the last column is the command line, its spaces made single. */
export function parseTop(top: TopResult): SandboxProcess[] {
  const titles = (top.Titles ?? []).map((t) => t.toUpperCase());
  const col = (name: string) => titles.indexOf(name);
  const [pid, ppid, uid, stat] = [col('PID'), col('PPID'), col('UID'), col('STAT')];
  const args = titles.length - 1;
  return (top.Processes ?? []).map((row) => ({
    pid: Number(row[pid]),
    ppid: Number(row[ppid]),
    uid: Number(row[uid]),
    stat: row[stat] ?? '',
    args: singleSpaced(row[args] ?? ''),
  }));
}

/**
 * Each process's environment from the `PS_ENV_ARGS` listing, where the last column is the command line, a space,
 * then the variables separated by spaces. The command line is known from the first listing, so what follows it is
 * the environment; a process missing from the second listing, listed with another command line (its id reused
 * meanwhile) or cut by ps keeps no `environ` (unknown).
 */
export function addEnvironments(list: SandboxProcess[], top: TopResult): SandboxProcess[] {
  const titles = (top.Titles ?? []).map((t) => t.toUpperCase());
  const pidCol = titles.indexOf('PID');
  const last = titles.length - 1;
  const texts = new Map<number, string>();
  if (pidCol >= 0 && last > pidCol) {
    for (const row of top.Processes ?? []) texts.set(Number(row[pidCol]), row[last] ?? '');
  }
  return list.map((p) => {
    const raw = texts.get(p.pid);
    if (raw === undefined || raw.length >= PS_ENV_MAX_CHARS) return p;
    const text = singleSpaced(raw);
    if (text === p.args) return { ...p, environ: [] };
    if (!text.startsWith(`${p.args} `)) return p;
    return { ...p, environ: splitEnvironment(text.slice(p.args.length + 1)) };
  });
}

/**
 * ps prints the variables separated by single spaces, and a value may hold spaces too: a new variable starts at a
 * space followed by a name and `=`. A value that itself holds ` NAME=` is split in two there: a check may see a
 * variable that is not one, never miss one that is. (ps prints bytes it cannot show as `?`, and the engine makes
 * runs of blanks single spaces, so values are as ps shows them, not byte for byte.)
 */
export function splitEnvironment(text: string): string[] {
  if (text === '') return [];
  return text.split(/ (?=[A-Za-z_][A-Za-z0-9_]*=)/);
}

function singleSpaced(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
