// The Kubernetes sandbox's pods and isolation policy (server/src/sandbox/drivers/kubernetes/pod-spec.ts), without a
// cluster: every object validates against the Kubernetes schemas, and each hardening property is asserted on its
// own, for several policies; each property's check is also shown to fail on a pod that lacks the property.
import { describe, expect, it } from 'vitest';
import type { SandboxPolicyConfig } from '../../server/src/hardening.js';
import { LABELS } from '../../server/src/sandbox/labels.js';
import { CAPABILITY_ALLOWLIST, effectiveLimits, type LimitOverrides } from '../../server/src/sandbox/policy.js';
import type { JobSpec, ResourceLimits, SandboxSpec } from '../../server/src/sandbox/sandbox-driver.js';
import {
  cpuQuantity,
  isolationPolicy,
  jobLabels,
  jobPod,
  kubeletPodPidsLimit,
  KubernetesSpecError,
  podName,
  sandboxLabels,
  sandboxPod,
  sandboxPodName,
  STOP_GRACE_SECONDS,
  type Pod,
} from '../../server/src/sandbox/drivers/kubernetes/pod-spec.js';
import { jobContainerSpec, sandboxContainerSpec } from '../../server/src/sandbox/drivers/docker/container-spec.js';
import { BASELINE_CAPABILITIES, selects, validateObject, type K8sObject } from '../helpers/kubernetes.js';

const MI = 1024 * 1024;
const INSTANCE = '0a1b2c3d4e5f';
const NS = 'opslab-sandboxes';

const BASE: SandboxPolicyConfig = {
  memoryMb: 512,
  cpus: 1,
  pids: 256,
  runtime: 'runc',
  maxMemoryMb: 2048,
  maxCpus: 2,
  maxPids: 1024,
  capabilities: [...CAPABILITY_ALLOWLIST],
  diskQuotaBytes: 1024 * MI,
  diskIntervalMs: 5000,
};

interface PolicyCase {
  name: string;
  policy: SandboxPolicyConfig;
  overrides: LimitOverrides;
}

const POLICIES: PolicyCase[] = [
  { name: 'the defaults (runc, every kept capability, 1 GiB disk)', policy: BASE, overrides: {} },
  {
    name: 'gVisor (runsc), a narrowed capability list, no disk quota',
    policy: { ...BASE, runtime: 'runsc', capabilities: ['KILL', 'SETUID', 'SETGID'], diskQuotaBytes: 0 },
    overrides: {},
  },
  {
    name: 'Kata, no capabilities, custom limits an exercise raised (memory capped at the maximum)',
    policy: { ...BASE, runtime: 'kata', capabilities: [], memoryMb: 256, cpus: 0.5, diskQuotaBytes: 3 * 1024 * MI },
    overrides: { memoryMb: 4096, cpus: 1.5, pids: 64 },
  },
];

/** A built pod and what it must be, from the policy. */
interface PodCase {
  label: string;
  pod: Pod;
  command: string[];
  tty: boolean;
  capabilities: readonly string[];
  runtimeClass: string | null;
  limits: ResourceLimits;
  diskQuotaBytes: number;
  user: { uid: number; gid: number } | null;
  labels: Record<string, string>;
}

function build(c: PolicyCase): PodCase[] {
  const { policy } = c;
  const limits = effectiveLimits(policy, c.overrides);
  const spec: SandboxSpec = { attemptId: 'a_0123456789abcdef0123', exerciseId: 'ci-triage', image: 'opslab/sandbox-ci:latest', limits, env: { EXTRA: '1' } };
  const runtimeClass = policy.runtime === 'runc' ? null : policy.runtime;
  const sandboxLabelSet = sandboxLabels(INSTANCE, spec);
  const sandbox = sandboxPod({
    name: sandboxPodName(INSTANCE, spec),
    namespace: NS,
    image: spec.image,
    env: spec.env,
    labels: sandboxLabelSet,
    limits,
    runtime: policy.runtime,
    capabilities: policy.capabilities,
    diskQuotaBytes: policy.diskQuotaBytes,
  });
  const job = (js: JobSpec) => {
    const labels = jobLabels(INSTANCE, js);
    const pod = jobPod(js, {
      name: `opslab-${INSTANCE}-${js.role}-00aa11bb22cc`,
      namespace: NS,
      labels,
      runtime: policy.runtime,
      capabilities: policy.capabilities,
      diskQuotaBytes: policy.diskQuotaBytes,
    });
    return { pod, labels };
  };
  const graderLimits = { memoryMb: 768, cpus: 1, pids: 256 };
  const grader = job({ role: 'grader', image: 'opslab/grader:latest', limits: graderLimits, hardening: 'grader', attemptId: spec.attemptId, exerciseId: spec.exerciseId });
  const cleanroom = job({ role: 'cleanroom', image: spec.image, limits, hardening: 'sandbox', attemptId: spec.attemptId, exerciseId: spec.exerciseId });
  return [
    {
      label: `sandbox under ${c.name}`,
      pod: sandbox,
      command: ['bash', '-l'],
      tty: true,
      capabilities: policy.capabilities,
      runtimeClass,
      limits,
      diskQuotaBytes: policy.diskQuotaBytes,
      user: null,
      labels: sandboxLabelSet,
    },
    {
      label: `grader under ${c.name}`,
      pod: grader.pod,
      command: ['sleep', 'infinity'],
      tty: false,
      capabilities: [],
      runtimeClass: null,
      limits: graderLimits,
      diskQuotaBytes: 0,
      user: { uid: 10001, gid: 10001 },
      labels: grader.labels,
    },
    {
      label: `clean room under ${c.name}`,
      pod: cleanroom.pod,
      command: ['sleep', 'infinity'],
      tty: false,
      capabilities: policy.capabilities,
      runtimeClass,
      limits,
      diskQuotaBytes: policy.diskQuotaBytes,
      user: null,
      labels: cleanroom.labels,
    },
  ];
}

const CASES = POLICIES.flatMap(build);

const container = (pod: Pod) => pod.spec.containers[0];
// Properties are removed from copies as loosely typed objects: the types would not let a builder drop them.
type Loose = any;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

interface Property {
  name: string;
  holds: (c: PodCase, pod: Pod) => boolean;
  /** Takes the property away from a copy of a pod built for `c`. */
  remove: (pod: Loose, c: PodCase) => void;
}

const PROPERTIES: Property[] = [
  { name: 'one container', holds: (_c, p) => p.spec.containers.length === 1, remove: (p) => p.spec.containers.push({ name: 'x', image: 'x' }) },
  {
    name: 'a TTY with stdin for the sandbox, none for jobs',
    holds: (c, p) => container(p).tty === c.tty && container(p).stdin === c.tty && container(p).stdinOnce === false,
    remove: (p) => (p.spec.containers[0].tty = !p.spec.containers[0].tty),
  },
  { name: 'its command (`bash -l`, or an idle job)', holds: (c, p) => same(container(p).command, c.command), remove: (p) => (p.spec.containers[0].command = ['sh']) },
  {
    name: 'no privilege escalation',
    holds: (_c, p) => container(p).securityContext.allowPrivilegeEscalation === false,
    remove: (p) => delete p.spec.containers[0].securityContext.allowPrivilegeEscalation,
  },
  { name: 'not privileged', holds: (_c, p) => container(p).securityContext.privileged === false, remove: (p) => (p.spec.containers[0].securityContext.privileged = true) },
  {
    name: 'every capability dropped',
    holds: (_c, p) => same(container(p).securityContext.capabilities.drop, ['ALL']),
    remove: (p) => (p.spec.containers[0].securityContext.capabilities.drop = []),
  },
  {
    name: "only the policy's kept capabilities added back",
    holds: (c, p) => same(container(p).securityContext.capabilities.add ?? [], c.capabilities),
    remove: (p) => {
      const caps = p.spec.containers[0].securityContext.capabilities;
      caps.add = [...(caps.add ?? []), 'SYS_ADMIN'];
    },
  },
  {
    name: 'seccomp: the runtime default profile',
    holds: (_c, p) => same(container(p).securityContext.seccompProfile, { type: 'RuntimeDefault' }),
    remove: (p) => delete p.spec.containers[0].securityContext.seccompProfile,
  },
  { name: 'no service account token', holds: (_c, p) => p.spec.automountServiceAccountToken === false, remove: (p) => delete p.spec.automountServiceAccountToken },
  { name: 'no service links in the environment', holds: (_c, p) => p.spec.enableServiceLinks === false, remove: (p) => delete p.spec.enableServiceLinks },
  { name: "not on the host's network", holds: (_c, p) => p.spec.hostNetwork === false, remove: (p) => (p.spec.hostNetwork = true) },
  { name: "not in the host's process namespace", holds: (_c, p) => p.spec.hostPID === false, remove: (p) => (p.spec.hostPID = true) },
  { name: "not in the host's IPC namespace", holds: (_c, p) => p.spec.hostIPC === false, remove: (p) => (p.spec.hostIPC = true) },
  { name: 'no process namespace shared between containers', holds: (_c, p) => p.spec.shareProcessNamespace === false, remove: (p) => (p.spec.shareProcessNamespace = true) },
  {
    name: 'no volumes at all (no hostPath)',
    holds: (_c, p) => !('volumes' in p.spec) && !('volumeMounts' in container(p)),
    remove: (p) => (p.spec.volumes = [{ name: 'host', hostPath: { path: '/' } }]),
  },
  {
    name: "CPU and memory limits equal to requests, from the policy's limits",
    holds: (c, p) => {
      const { requests, limits } = container(p).resources;
      const want = { cpu: cpuQuantity(c.limits.cpus), memory: `${c.limits.memoryMb}Mi` };
      return same({ cpu: limits.cpu, memory: limits.memory }, want) && same({ cpu: requests.cpu, memory: requests.memory }, want);
    },
    remove: (p) => delete p.spec.containers[0].resources.limits.memory,
  },
  {
    name: 'ephemeral storage limited to the disk quota (none without a quota)',
    holds: (c, p) => {
      const { requests, limits } = container(p).resources;
      const want = c.diskQuotaBytes > 0 ? `${c.diskQuotaBytes / MI}Mi` : undefined;
      return limits['ephemeral-storage'] === want && requests['ephemeral-storage'] === want;
    },
    remove: (p, c) => {
      const limits = p.spec.containers[0].resources.limits;
      if (c.diskQuotaBytes > 0) delete limits['ephemeral-storage'];
      else limits['ephemeral-storage'] = '100Gi';
    },
  },
  {
    name: "the policy's RuntimeClass (none for runc, none for the grader)",
    holds: (c, p) => p.spec.runtimeClassName === (c.runtimeClass ?? undefined),
    remove: (p, c) => {
      if (c.runtimeClass === null) p.spec.runtimeClassName = 'runsc';
      else delete p.spec.runtimeClassName;
    },
  },
  {
    name: "the image's user for sandboxes and clean rooms, the grader's unprivileged user for graders",
    holds: (c, p) => {
      const sc = container(p).securityContext;
      if (c.user === null) return sc.runAsUser === undefined && sc.runAsNonRoot === undefined;
      return sc.runAsNonRoot === true && sc.runAsUser === c.user.uid && sc.runAsGroup === c.user.gid;
    },
    remove: (p, c) => {
      const sc = p.spec.containers[0].securityContext;
      if (c.user === null) sc.runAsUser = 1000;
      else delete sc.runAsNonRoot;
    },
  },
  { name: 'the labels the Docker driver sets', holds: (c, p) => same(p.metadata.labels, c.labels), remove: (p) => delete p.metadata.labels[LABELS.role] },
  {
    name: 'selected by the deny-all isolation policy of its namespace',
    holds: (_c, p) => {
      const policy = isolationPolicy(p.metadata.namespace);
      return policy.metadata.namespace === p.metadata.namespace && selects(policy.spec.podSelector, p.metadata.labels);
    },
    remove: (p) => (p.metadata.labels[LABELS.role] = 'something-else'),
  },
  { name: 'never restarted', holds: (_c, p) => p.spec.restartPolicy === 'Never', remove: (p) => (p.spec.restartPolicy = 'Always') },
  {
    name: 'killed a few seconds after its deletion (its PID 1 ignores SIGTERM), as `docker stop` does',
    holds: (_c, p) => p.spec.terminationGracePeriodSeconds === STOP_GRACE_SECONDS,
    remove: (p) => delete p.spec.terminationGracePeriodSeconds,
  },
  {
    name: 'DNS on its own loopback only (nothing of the cluster named inside)',
    holds: (_c, p) => p.spec.dnsPolicy === 'None' && same(p.spec.dnsConfig, { nameservers: ['127.0.0.1'] }),
    remove: (p) => {
      p.spec.dnsPolicy = 'ClusterFirst';
      delete p.spec.dnsConfig;
    },
  },
];

describe('Kubernetes pods and policy (no cluster)', () => {
  it.each(POLICIES)('every object built under $name validates against the Kubernetes schemas', (c) => {
    for (const { pod } of build(c)) validateObject(pod as K8sObject);
    validateObject(isolationPolicy(NS) as K8sObject);
  });

  it('the schema validation refuses a broken object and a misspelt field (it is no rubber stamp)', () => {
    const pod: Loose = structuredClone(CASES[0]!.pod);
    pod.spec.containers[0].tty = 'yes';
    expect(() => validateObject(pod)).toThrow(/tty must be boolean/);
    const noImage: Loose = structuredClone(CASES[0]!.pod);
    noImage.spec.containers[0].securityContext.seccompProfile = { type: 'Unconfined-ish' };
    expect(() => validateObject(noImage)).toThrow(/seccompProfile/);
    const misspelt: Loose = structuredClone(CASES[0]!.pod);
    misspelt.spec.containers[0].securityContext.allowPrivilegeEscalaton = false;
    misspelt.spec.automountServiceAcountToken = false;
    expect(() => validateObject(misspelt)).toThrow(
      'fields Kubernetes does not know: /spec/containers/0/securityContext/allowPrivilegeEscalaton, /spec/automountServiceAcountToken',
    );
  });

  describe.each(PROPERTIES)('$name', (property) => {
    it('holds for the sandbox, the grader and the clean room under every policy', () => {
      for (const c of CASES) expect(property.holds(c, c.pod), c.label).toBe(true);
    });
    it('its check fails on a pod without it', () => {
      for (const c of CASES) {
        const copy: Loose = structuredClone(c.pod);
        property.remove(copy, c);
        expect(property.holds(c, copy), c.label).toBe(false);
      }
    });
  });

  // The same inputs through both drivers' builders: what the Docker driver sets and the pod must say alike.
  it.each(POLICIES)("says what the Docker driver's containers say, under $name", (c) => {
    const { policy } = c;
    const limits = effectiveLimits(policy, c.overrides);
    const spec: SandboxSpec = { attemptId: 'a_0123456789abcdef0123', exerciseId: 'ci-triage', image: 'opslab/sandbox-ci:latest', limits, env: { EXTRA: '1' } };
    const common = { image: spec.image, env: spec.env, labels: sandboxLabels(INSTANCE, spec), limits, runtime: policy.runtime, capabilities: policy.capabilities };
    const docker = sandboxContainerSpec(common);
    const pod = sandboxPod({ ...common, name: sandboxPodName(INSTANCE, spec), namespace: NS, diskQuotaBytes: policy.diskQuotaBytes });
    const sandboxC = container(pod);
    expect(pod.metadata.labels).toEqual(docker.Labels);
    expect(sandboxC.env.map((e) => `${e.name}=${e.value}`)).toEqual(docker.Env);
    expect(sandboxC.securityContext.capabilities.add ?? []).toEqual(docker.HostConfig!.CapAdd);
    expect(docker.HostConfig!.CapDrop).toEqual(['ALL']);
    expect(`${docker.HostConfig!.Memory! / MI}Mi`).toBe(sandboxC.resources.limits.memory);
    expect(`${docker.HostConfig!.NanoCpus! / 1e6}m`).toBe(sandboxC.resources.limits.cpu);
    expect({ Hostname: docker.Hostname, Tty: docker.Tty, OpenStdin: docker.OpenStdin, StdinOnce: docker.StdinOnce }).toEqual({
      Hostname: pod.spec.hostname,
      Tty: sandboxC.tty,
      OpenStdin: sandboxC.stdin,
      StdinOnce: sandboxC.stdinOnce,
    });
    expect(pod.spec.runtimeClassName).toBe((docker.HostConfig as { Runtime?: string }).Runtime);

    for (const js of [
      { role: 'grader', image: 'opslab/grader:latest', limits: { memoryMb: 768, cpus: 1, pids: 256 }, hardening: 'grader', attemptId: spec.attemptId },
      { role: 'cleanroom', image: spec.image, limits, hardening: 'sandbox', attemptId: spec.attemptId },
    ] satisfies JobSpec[]) {
      const settings = { name: `opslab-${INSTANCE}-${js.role}-1`, labels: jobLabels(INSTANCE, js), runtime: policy.runtime, capabilities: policy.capabilities };
      const dockerJob = jobContainerSpec(js, settings);
      const job = jobPod(js, { ...settings, namespace: NS, diskQuotaBytes: policy.diskQuotaBytes });
      const jobC = container(job);
      expect(job.metadata.labels, js.role).toEqual(dockerJob.Labels);
      expect(jobC.command, js.role).toEqual(dockerJob.Cmd);
      expect(jobC.env.map((e) => `${e.name}=${e.value}`), js.role).toEqual(dockerJob.Env);
      expect(jobC.securityContext.capabilities.add ?? [], js.role).toEqual(dockerJob.HostConfig!.CapAdd ?? []);
      const user = jobC.securityContext.runAsUser === undefined ? undefined : `${jobC.securityContext.runAsUser}:${jobC.securityContext.runAsGroup}`;
      expect(user, js.role).toBe(dockerJob.User);
      expect(job.spec.runtimeClassName, js.role).toBe((dockerJob.HostConfig as { Runtime?: string }).Runtime);
      expect(`${dockerJob.HostConfig!.Memory! / MI}Mi`, js.role).toBe(jobC.resources.limits.memory);
    }
  });

  it('adds only capabilities that Pod Security "baseline" allows, and the grader passes "restricted"', () => {
    for (const c of CASES) {
      for (const cap of container(c.pod).securityContext.capabilities.add ?? []) expect(BASELINE_CAPABILITIES, c.label).toContain(cap);
    }
    for (const c of CASES.filter((x) => x.pod.metadata.labels[LABELS.role] === 'grader')) {
      const sc = container(c.pod).securityContext;
      expect(sc).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
      expect(sc.capabilities.add).toBeUndefined();
    }
  });

  it("the sandbox's environment: the terminal's TERM and LANG, which the spec's own variables override", () => {
    const limits = effectiveLimits(BASE);
    const pod = sandboxPod({
      name: 'opslab-x-a_1',
      namespace: NS,
      image: 'img',
      env: { LANG: 'en_US.UTF-8', EXTRA: '1' },
      labels: {},
      limits,
      runtime: 'runc',
      capabilities: [],
      diskQuotaBytes: 0,
    });
    expect(container(pod).env).toEqual([
      { name: 'TERM', value: 'xterm-256color' },
      { name: 'LANG', value: 'en_US.UTF-8' },
      { name: 'EXTRA', value: '1' },
    ]);
    expect(pod.spec.hostname).toBe('sandbox');
    expect(pod.metadata.name).toBe('opslab-x-a-1');
  });

  it("names pods after the Docker driver's containers, made valid: the attempt id's underscore, pool slots, generations", () => {
    const limits = effectiveLimits(BASE);
    const base = { exerciseId: 'ci-triage', image: 'img', limits };
    expect(sandboxPodName('0a1b2c3d4e5f', { ...base, attemptId: 'a_00ff' })).toBe('opslab-0a1b2c3d4e5f-a-00ff');
    expect(sandboxPodName('0a1b2c3d4e5f', { ...base, attemptId: 'a_00ff', generation: 2 })).toBe('opslab-0a1b2c3d4e5f-a-00ff-2');
    expect(sandboxPodName('0a1b2c3d4e5f', { ...base, attemptId: '', pool: '9f8e' })).toBe('opslab-0a1b2c3d4e5f-pool-9f8e');
    expect(() => podName('-starts-with-a-dash')).toThrow(KubernetesSpecError);
    expect(() => podName('x'.repeat(254))).toThrow(/at most 253/);
  });

  it('keeps the pool slot label and leaves the attempt label out for a warm-pool sandbox, as the Docker driver does', () => {
    const limits = effectiveLimits(BASE);
    const labels = sandboxLabels(INSTANCE, { attemptId: 'ignored', exerciseId: 'ci-triage', image: 'img', limits, pool: '9f8e' });
    expect(labels).toEqual({
      [LABELS.managed]: 'true',
      [LABELS.instance]: INSTANCE,
      [LABELS.pool]: '9f8e',
      [LABELS.exercise]: 'ci-triage',
      [LABELS.role]: 'sandbox',
    });
  });

  it('refuses what the API server would refuse, saying what is wrong', () => {
    const settings = { name: 'p', namespace: NS, image: 'img', labels: {}, limits: effectiveLimits(BASE), runtime: 'runc', capabilities: [], diskQuotaBytes: 0 };
    expect(() => sandboxPod({ ...settings, labels: { 'opslab.attempt': 'x'.repeat(64) } })).toThrow(/label opslab.attempt=".*" has a value Kubernetes refuses/);
    expect(() => sandboxPod({ ...settings, labels: { 'opslab.attempt': 'a b' } })).toThrow(KubernetesSpecError);
    expect(() => sandboxPod({ ...settings, labels: { 'bad key!': 'x' } })).toThrow(/label key "bad key!"/);
    expect(() => sandboxPod({ ...settings, limits: { memoryMb: 512, cpus: 0.0001, pids: 16 } })).toThrow(/below the least/);
    expect(() => sandboxPod({ ...settings, limits: { memoryMb: 0, cpus: 1, pids: 16 } })).toThrow(/memory limit of 0 MB/);
    expect(() => sandboxPod({ ...settings, runtime: 'Run C' })).toThrow(/cannot name a RuntimeClass/);
    expect(sandboxPod({ ...settings, labels: { 'example.com/empty': '' } }).metadata.labels).toEqual({ 'example.com/empty': '' });
  });

  it('refuses a probe that would join a sandbox\'s network: a pod cannot', () => {
    const spec: JobSpec = { role: 'grader', image: 'opslab/grader:latest', limits: effectiveLimits(BASE), hardening: 'grader', joinSandbox: 'sandbox-pod' };
    expect(() => jobPod(spec, { name: 'g', namespace: NS, labels: {}, runtime: 'runc', capabilities: [], diskQuotaBytes: 0 })).toThrow(
      /cannot join sandbox sandbox-pod's network/,
    );
  });

  it('isolates every role opslab creates, in both directions, with no rule that lets anything through', () => {
    const policy = isolationPolicy(NS);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec).not.toHaveProperty('ingress');
    expect(policy.spec).not.toHaveProperty('egress');
    for (const role of ['sandbox', 'grader', 'cleanroom']) expect(selects(policy.spec.podSelector, { [LABELS.role]: role })).toBe(true);
    expect(selects(policy.spec.podSelector, { 'app.kubernetes.io/name': 'opslab' })).toBe(false);
  });

  it("says the kubelet's podPidsLimit a sandbox node needs: the largest sandbox's processes, gVisor's own tasks on top", () => {
    expect(kubeletPodPidsLimit('runc', 1024)).toBe(1024);
    expect(kubeletPodPidsLimit('runsc', 1024)).toBe(64 + 16 * 1024);
    expect(kubeletPodPidsLimit('kata', 256)).toBe(256);
  });
});
