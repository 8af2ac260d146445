// What a Kubernetes sandbox driver asks the API server to create: the sandbox Pod, the grader and clean-room job
// Pods and the NetworkPolicy that isolates them, built from settings alone (no API call, no client library), so the
// hardening can be read and tested in one place. It mirrors the Docker driver's container-spec.ts and takes the
// shared values from where that takes them: the labels (labels.ts, container-spec.ts's sandboxLabels/jobLabels),
// the capability allow-list (hardening.ts, narrowed by the operator), the limits (policy.ts's effectiveLimits, in
// SandboxSpec.limits and JobSpec.limits) and the grader's user.
//
// How the Docker options map, and where Kubernetes differs:
// - Capabilities, no-new-privileges, the runtime's default seccomp profile, no privilege: the container's
//   securityContext (capabilities drop ALL, then the kept ones; allowPrivilegeEscalation false; seccomp
//   RuntimeDefault, which is what Docker applies when no option is given).
// - No network (`NetworkMode: none`): a pod always has an interface and an address, and a NetworkPolicy does not
//   remove them. "No network" is the deny-all policy below (no ingress, no egress) selecting every sandbox, grader
//   and clean-room pod by its role label, enforced by the cluster's network plugin (one that implements
//   NetworkPolicy: Calico, Cilium...; a plugin that ignores policies leaves the pods on the pod network). DNS points
//   at the pod's own loopback, so nothing of the cluster (its resolver, search domains) is named inside the box.
//   A probe job cannot join a sandbox's network namespace from a pod of its own (`joinSandbox`): that is refused
//   here, for the driver to solve (an ephemeral container in the sandbox's pod) in its own slice.
// - Memory, CPU: limits equal to requests (the Guaranteed class); memory without swap is the kubelet's default.
// - Processes: Kubernetes has no per-pod setting. The kubelet's `podPidsLimit` is the pids cgroup of every pod on
//   the node, an operator's setting (docs/operations.md, "Kubernetes (preview)"); `kubeletPodPidsLimit` says what
//   it must be at least. No RLIMIT_NPROC either (Kubernetes sets no rlimits), so under gVisor the pids cgroup counts
//   the Sentry's tasks, as processLimits() in policy.ts explains.
// - Disk quota: an `ephemeral-storage` limit, which the kubelet enforces by evicting the pod.
// - The runtime: `runtimeClassName` names a RuntimeClass the operator created (e.g. `runsc` with handler runsc for
//   gVisor, `kata` for Kata Containers); the default runtime (`runc`) sets none.
// - No init process is injected (Docker's `Init`): the image's `bash -l` is PID 1 of its container.
// - The Docker driver creates a job stopped, copies files in and then starts it (`start: false`); a pod starts when
//   it is created, so a Kubernetes driver copies files into the running job (its main process only idles).
import { processLimits } from '../../policy.js';
import { LABELS, ROLES } from '../../labels.js';
import type { JobRole, JobSpec, ResourceLimits, SandboxSpec } from '../../sandbox-driver.js';
import { GRADER_USER, sandboxName } from '../docker/container-spec.js';
import type { Container, NetworkPolicy, Pod, ResourceList, SecurityContext } from './objects.js';

export { jobLabels, sandboxLabels } from '../docker/container-spec.js';
export type { Container, NetworkPolicy, Pod } from './objects.js';

/** The OCI runtime that needs no RuntimeClass: the cluster's default. */
export const DEFAULT_RUNTIME = 'runc';

/** The job roles, written so that a new JobRole does not compile until it is listed (and isolated). */
const JOB_ROLES = { grader: true, cleanroom: true } satisfies Record<JobRole, true>;

/** The roles whose pods the isolation policy selects: every pod opslab creates. */
export const ISOLATED_ROLES: readonly string[] = [ROLES.sandbox, ...Object.keys(JOB_ROLES)];

/** The isolation policy's name in every namespace that holds sandboxes. */
export const ISOLATION_POLICY_NAME = 'opslab-sandbox-isolation';

/** Where a cluster that follows deploy/kubernetes/ keeps sandboxes and jobs. */
export const SANDBOX_NAMESPACE = 'opslab-sandboxes';

/** Seconds between a pod's deletion and the kill of what still runs in it (the Docker driver's stop timeout). */
export const STOP_GRACE_SECONDS = 5;

/** Names Kubernetes accepts for a pod (a DNS-1123 subdomain). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A label's name part, and any label value that is not empty. */
const LABEL_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export class KubernetesSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubernetesSpecError';
  }
}

/** A Docker-style name as a pod name: lower case, characters outside [a-z0-9.-] (the attempt id's `_`) as `-`. */
export function podName(name: string): string {
  const converted = name.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  if (converted.length > 253 || !DNS_SUBDOMAIN.test(converted)) {
    throw new KubernetesSpecError(`"${name}" cannot be a pod name (${converted.length} characters; at most 253 of a-z, 0-9, "-" and ".", starting and ending with a letter or digit)`);
  }
  return converted;
}

/** The pod name of a sandbox: the Docker driver's container name, as a pod name. */
export function sandboxPodName(instance: string, spec: SandboxSpec): string {
  return podName(sandboxName(instance, spec));
}

/** Refuses labels the API server would refuse, with the label that is wrong. */
export function checkLabels(labels: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(labels)) {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : null;
    const name = key.slice(slash + 1);
    const keyOk = name.length <= 63 && LABEL_PART.test(name) && (prefix === null || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)));
    if (!keyOk) throw new KubernetesSpecError(`label key "${key}" is not a Kubernetes label key ([prefix/]name, the name at most 63 characters of A-Z a-z 0-9 - _ .)`);
    if (value !== '' && !(value.length <= 63 && LABEL_PART.test(value))) {
      throw new KubernetesSpecError(`label ${key}="${value}" has a value Kubernetes refuses (at most 63 characters of A-Z a-z 0-9 - _ ., starting and ending with a letter or digit)`);
    }
  }
  return labels;
}

const MI = 1024 * 1024;

/** Bytes as a quantity: whole mebibytes as `NMi`, anything else in bytes. */
export function bytesQuantity(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new KubernetesSpecError(`${bytes} bytes is no size (a whole number above 0)`);
  return bytes % MI === 0 ? `${bytes / MI}Mi` : String(bytes);
}

/** CPUs as millicores. */
export function cpuQuantity(cpus: number): string {
  const milli = Math.round(cpus * 1000);
  if (!Number.isFinite(cpus) || milli < 1) throw new KubernetesSpecError(`${cpus} CPUs is below the least Kubernetes can give (0.001)`);
  return `${milli}m`;
}

/** Requests equal to limits: memory, CPU, and the disk quota as ephemeral storage (0: no quota). */
function resources(limits: ResourceLimits, diskQuotaBytes: number): { requests: ResourceList; limits: ResourceList } {
  if (!Number.isSafeInteger(limits.memoryMb) || limits.memoryMb <= 0) {
    throw new KubernetesSpecError(`a memory limit of ${limits.memoryMb} MB is no limit (a whole number of MB above 0)`);
  }
  const list: ResourceList = {
    cpu: cpuQuantity(limits.cpus),
    memory: bytesQuantity(limits.memoryMb * MI),
    ...(diskQuotaBytes > 0 ? { 'ephemeral-storage': bytesQuantity(diskQuotaBytes) } : {}),
  };
  return { requests: { ...list }, limits: { ...list } };
}

/** Every capability dropped but `keep`, no privilege, no way to gain one, the runtime's default seccomp profile. */
function securityContext(keep: readonly string[], user?: { uid: number; gid: number }): SecurityContext {
  return {
    privileged: false,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'], ...(keep.length > 0 ? { add: [...keep] } : {}) },
    seccompProfile: { type: 'RuntimeDefault' },
    ...(user ? { runAsNonRoot: true, runAsUser: user.uid, runAsGroup: user.gid } : {}),
  };
}

/** The RuntimeClass for an OCI runtime name: none for the default one, else a RuntimeClass of that name. */
export function runtimeClassFor(runtime: string): string | null {
  if (runtime === DEFAULT_RUNTIME) return null;
  if (runtime.length > 253 || !DNS_SUBDOMAIN.test(runtime)) {
    throw new KubernetesSpecError(`runtime "${runtime}" cannot name a RuntimeClass (lower case a-z, 0-9, "-" and ".")`);
  }
  return runtime;
}

/**
 * The least `podPidsLimit` the kubelet of a sandbox node needs so that the largest sandbox an exercise may ask for
 * (`maxPids`) fits: the pids cgroup as the runtime needs it (under gVisor sized for the Sentry's own tasks).
 */
export function kubeletPodPidsLimit(runtime: string, maxPids: number): number {
  return processLimits(runtime, maxPids).pidsLimit;
}

/**
 * A pod of its one container: what holds for every pod (no host namespaces, no service account token, no service
 * links, loopback DNS, no restart) around the role's hostname, container and RuntimeClass.
 */
function pod(
  meta: { name: string; namespace: string; labels: Record<string, string> },
  hostname: string,
  container: Container,
  runtimeClass: string | null,
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: podName(meta.name), namespace: meta.namespace, labels: checkLabels(meta.labels) },
    spec: {
      restartPolicy: 'Never',
      // PID 1 (an interactive bash, an idle sleep) ignores SIGTERM: the kubelet kills it after this, as `docker stop`
      // does after the Docker driver's stop timeout.
      terminationGracePeriodSeconds: STOP_GRACE_SECONDS,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      shareProcessNamespace: false,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      dnsPolicy: 'None',
      dnsConfig: { nameservers: ['127.0.0.1'] },
      hostname,
      containers: [container],
      ...(runtimeClass !== null ? { runtimeClassName: runtimeClass } : {}),
    },
  };
}

function env(vars: Record<string, string>): { name: string; value: string }[] {
  return Object.entries(vars).map(([name, value]) => ({ name, value }));
}

export interface SandboxPodSettings {
  name: string;
  namespace: string;
  image: string;
  /** Added to (and overriding) the terminal's TERM and LANG. */
  env?: Record<string, string> | undefined;
  labels: Record<string, string>;
  limits: ResourceLimits;
  /** The OCI runtime of the policy (runc, runsc, kata...): anything but runc names a RuntimeClass. */
  runtime: string;
  /** The capabilities kept: the allow-list or fewer. */
  capabilities: readonly string[];
  /** Bytes the sandbox may write (the ephemeral-storage limit); 0: no quota. */
  diskQuotaBytes: number;
}

/** The sandbox: one container with a TTY shell (`bash -l`), no network, every capability but the kept ones dropped. */
export function sandboxPod(settings: SandboxPodSettings): Pod {
  const runtimeClass = runtimeClassFor(settings.runtime);
  const container: Container = {
    name: 'sandbox',
    image: settings.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['bash', '-l'],
    env: env({ TERM: 'xterm-256color', LANG: 'C.UTF-8', ...settings.env }),
    tty: true,
    stdin: true,
    stdinOnce: false,
    resources: resources(settings.limits, settings.diskQuotaBytes),
    securityContext: securityContext(settings.capabilities),
  };
  return pod(settings, 'sandbox', container, runtimeClass);
}

export interface JobPodSettings {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** The operator's sandbox runtime, used by jobs with the sandbox hardening. */
  runtime: string;
  /** The capabilities sandboxes keep: a clean room's too. */
  capabilities: readonly string[];
  /** The sandbox disk quota, a clean room's too (0: none). The grader runs only the exercise's checks: none. */
  diskQuotaBytes: number;
}

function graderUser(): { uid: number; gid: number } {
  const [uid, gid] = GRADER_USER.split(':').map(Number);
  return { uid: uid!, gid: gid ?? uid! };
}

/**
 * A job pod (grader, clean room): an idle main process (the work is done through exec), no network, every capability
 * dropped, limits. Under the sandbox hardening (clean rooms, which run the candidate's code) exactly a sandbox's:
 * the capabilities sandboxes keep, the operator's runtime, the disk quota. The grader keeps every capability
 * dropped, the default runtime and its unprivileged user from its first process on.
 */
export function jobPod(spec: JobSpec, settings: JobPodSettings): Pod {
  if (spec.joinSandbox) {
    throw new KubernetesSpecError(
      `a ${spec.role} job cannot join sandbox ${spec.joinSandbox}'s network from a pod of its own: a pod's network namespace is its own`,
    );
  }
  const sandboxHardening = spec.hardening === 'sandbox';
  const runtimeClass = sandboxHardening ? runtimeClassFor(settings.runtime) : null;
  const container: Container = {
    name: spec.role,
    image: spec.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['sleep', 'infinity'],
    env: env({ LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }),
    tty: false,
    stdin: false,
    stdinOnce: false,
    resources: resources(spec.limits, sandboxHardening ? settings.diskQuotaBytes : 0),
    securityContext: sandboxHardening ? securityContext(settings.capabilities) : securityContext([], graderUser()),
  };
  return pod(settings, spec.role, container, runtimeClass);
}

/**
 * Nothing in, nothing out for every pod opslab creates in `namespace` (sandboxes, graders, clean rooms, of every
 * installation sharing the namespace): the Kubernetes form of "no network". The server reaches them only through
 * the API server (exec, attach, logs), which a NetworkPolicy does not govern. deploy/kubernetes/ holds this very
 * object, written by `npm run k8s:manifests`.
 */
export function isolationPolicy(namespace: string): NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: ISOLATION_POLICY_NAME, namespace, labels: { 'app.kubernetes.io/part-of': 'opslab' } },
    spec: {
      podSelector: { matchExpressions: [{ key: LABELS.role, operator: 'In', values: [...ISOLATED_ROLES] }] },
      policyTypes: ['Ingress', 'Egress'],
    },
  };
}

