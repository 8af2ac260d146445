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

/** The processes of a running container; an empty list when it is not running or gone. */
export async function listProcesses(docker: Docker, id: string): Promise<SandboxProcess[]> {
  let top: TopResult;
  try {
    // The engine lists a container's processes by running ps on its host for the container's process ids. Under
    // another runtime than runc (gVisor's runsc) those are the ids inside the sandbox's own kernel, and the list
    // would name whatever host processes have the same ids: refuse rather than mislead a check.
    const runtime = (await docker.getContainer(id).inspect()).HostConfig?.Runtime ?? 'runc';
    if (runtime !== 'runc' && runtime !== '') {
      throw new Error(`the engine cannot list the processes of a sandbox under the ${runtime} runtime`);
    }
    // The engine runs ps on its host for the container's processes: nothing runs inside the sandbox.
    top = (await docker.getContainer(id).top({ ps_args: PS_ARGS })) as TopResult;
  } catch (err) {
    // 409: not running; 404: gone. Either way no process runs there.
    const status = statusOf(err);
    if (status === 409 || status === 404) return [];
    throw err;
  }
  return parseTop(top);
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
    args: (row[args] ?? '').replace(/\s+/g, ' ').trim(),
  }));
}
