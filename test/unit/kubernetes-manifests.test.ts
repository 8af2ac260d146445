// deploy/kubernetes/ without a cluster: every object validates against the Kubernetes schemas, the files written
// from code equal what the code builds, the server's Deployment is hardened property by property, its settings
// are ones the server accepts, RBAC is limited to what a sandbox driver needs. When kubectl (kustomize v5+) is on
// the machine, `kubectl kustomize` must render exactly the objects this test reads itself.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { repoRoot } from '../../server/src/paths.js';
import { generatedManifests } from '../../server/src/sandbox/drivers/kubernetes/manifests.js';
import { ISOLATION_POLICY_NAME, isolationPolicy, SANDBOX_NAMESPACE } from '../../server/src/sandbox/drivers/kubernetes/pod-spec.js';
import {
  kubectlKustomize,
  kubectlWithKustomize,
  objectKey,
  readKustomization,
  readYamlObjects,
  selects,
  validateObject,
  type K8sObject,
} from '../helpers/kubernetes.js';

const DIR = path.join(repoRoot(), 'deploy', 'kubernetes');
const SERVER_NAMESPACE = 'opslab';

const entries = readKustomization(DIR);
const objects = entries.map((e) => e.object);

function find(kind: string, name: string, namespace?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  if (found.length !== 1) throw new Error(`${found.length} ${kind} objects named ${name} in ${namespace ?? 'any namespace'}`);
  return found[0]!;
}

const deployment = find('Deployment', 'opslab-server', SERVER_NAMESPACE);
type Loose = any; // objects read from YAML, and copies with a property taken away

interface Property {
  name: string;
  holds: (d: Loose) => boolean;
  remove: (d: Loose) => void;
}

const podOf = (d: Loose) => d.spec.template.spec;
const serverOf = (d: Loose) => podOf(d).containers.find((c: Loose) => c.name === 'server');
const healthRoute = /app\.get\('(\/api\/health)'/.exec(readFileSync(path.join(repoRoot(), 'server/src/routes/catalog.ts'), 'utf8'))?.[1];

/** The server Deployment's hardening and shape, each on its own. */
const SERVER_PROPERTIES: Property[] = [
  { name: 'two replicas', holds: (d) => d.spec.replicas === 2, remove: (d) => (d.spec.replicas = 1) },
  { name: 'one container', holds: (d) => podOf(d).containers.length === 1 && !podOf(d).initContainers, remove: (d) => podOf(d).containers.push({ name: 'x' }) },
  {
    name: 'not root (pod and container)',
    holds: (d) => podOf(d).securityContext.runAsNonRoot === true && podOf(d).securityContext.runAsUser > 0 && serverOf(d).securityContext.runAsNonRoot === true,
    remove: (d) => delete podOf(d).securityContext.runAsNonRoot,
  },
  { name: 'a read-only root filesystem', holds: (d) => serverOf(d).securityContext.readOnlyRootFilesystem === true, remove: (d) => delete serverOf(d).securityContext.readOnlyRootFilesystem },
  { name: 'no privilege escalation', holds: (d) => serverOf(d).securityContext.allowPrivilegeEscalation === false, remove: (d) => delete serverOf(d).securityContext.allowPrivilegeEscalation },
  { name: 'not privileged', holds: (d) => serverOf(d).securityContext.privileged === false, remove: (d) => (serverOf(d).securityContext.privileged = true) },
  {
    name: 'every capability dropped, none added',
    holds: (d) => JSON.stringify(serverOf(d).securityContext.capabilities) === JSON.stringify({ drop: ['ALL'] }),
    remove: (d) => (serverOf(d).securityContext.capabilities.add = ['NET_ADMIN']),
  },
  {
    name: 'seccomp: the runtime default profile (pod and container)',
    holds: (d) => podOf(d).securityContext.seccompProfile?.type === 'RuntimeDefault' && serverOf(d).securityContext.seccompProfile?.type === 'RuntimeDefault',
    remove: (d) => delete serverOf(d).securityContext.seccompProfile,
  },
  {
    name: 'no host namespaces',
    holds: (d) => podOf(d).hostNetwork === false && podOf(d).hostPID === false && podOf(d).hostIPC === false,
    remove: (d) => (podOf(d).hostPID = true),
  },
  {
    name: 'only emptyDir volumes (no hostPath), mounted where the server writes (its data directory and /tmp)',
    holds: (d) => {
      const volumes: Loose[] = podOf(d).volumes;
      const mounts: string[] = serverOf(d).volumeMounts.map((m: Loose) => m.mountPath).sort();
      return volumes.every((v) => Object.keys(v).sort().join() === 'emptyDir,name') && JSON.stringify(mounts) === JSON.stringify(['/data', '/tmp']);
    },
    remove: (d) => podOf(d).volumes.push({ name: 'host', hostPath: { path: '/var/run' } }),
  },
  { name: 'no service links in the environment', holds: (d) => podOf(d).enableServiceLinks === false, remove: (d) => delete podOf(d).enableServiceLinks },
  {
    name: "its own service account (the only opslab pod with a token: the driver's)",
    holds: (d) => podOf(d).serviceAccountName === 'opslab-server' && podOf(d).automountServiceAccountToken === true,
    remove: (d) => delete podOf(d).serviceAccountName,
  },
  {
    name: "readiness, liveness and startup on the server's health route",
    holds: (d) =>
      healthRoute !== undefined &&
      ['readinessProbe', 'livenessProbe', 'startupProbe'].every((p) => serverOf(d)[p]?.httpGet?.path === healthRoute && serverOf(d)[p].httpGet.port === 'http'),
    remove: (d) => (serverOf(d).livenessProbe.httpGet.path = '/'),
  },
  {
    name: 'liveness gives up later than readiness (a short engine outage restarts nothing)',
    holds: (d) => {
      const period = (p: Loose) => p.periodSeconds * p.failureThreshold;
      return period(serverOf(d).livenessProbe) > period(serverOf(d).readinessProbe);
    },
    remove: (d) => (serverOf(d).livenessProbe.failureThreshold = 1),
  },
  {
    name: 'OPSLAB_DATABASE_URL from a Secret, never from the ConfigMap',
    holds: (d) => {
      const env = serverOf(d).env.find((e: Loose) => e.name === 'OPSLAB_DATABASE_URL');
      return env?.valueFrom?.secretKeyRef?.name === 'opslab-database' && env.valueFrom.secretKeyRef.key === 'url' && !('value' in env);
    },
    remove: (d) => (serverOf(d).env = [{ name: 'OPSLAB_DATABASE_URL', value: 'postgres://u:p@db/opslab' }]),
  },
  { name: 'a memory limit', holds: (d) => typeof serverOf(d).resources?.limits?.memory === 'string', remove: (d) => delete serverOf(d).resources.limits },
];

describe('deploy/kubernetes (no cluster)', () => {
  it('every object of the kustomization and of optional/ validates against the Kubernetes schemas', () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const { file, object } of entries) expect(() => validateObject(object), file).not.toThrow();
    const optional = readdirSync(path.join(DIR, 'optional')).filter((f) => f.endsWith('.yaml'));
    expect(optional.length).toBeGreaterThan(0);
    for (const file of optional) for (const object of readYamlObjects(path.join(DIR, 'optional', file))) validateObject(object);
    // A misspelt field is refused too: the hand-written files get no type check of their own.
    const misspelt = structuredClone(deployment);
    serverOf(misspelt).securityContext.readOnlyRootFilesytem = true;
    expect(() => validateObject(misspelt)).toThrow(/does not know: .*readOnlyRootFilesytem/);
  });

  it('holds what was asked for: two namespaces, the server, its service, settings, RBAC, policies and a disruption budget', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        'Namespace/opslab',
        'Namespace/opslab-sandboxes',
        'ServiceAccount/opslab-server',
        'Role/opslab-sandbox-driver',
        'RoleBinding/opslab-sandbox-driver',
        'ConfigMap/opslab-settings',
        'Deployment/opslab-server',
        'Service/opslab-server',
        'PodDisruptionBudget/opslab-server',
        'NetworkPolicy/opslab-default-deny',
        'NetworkPolicy/opslab-default-deny',
        'NetworkPolicy/opslab-server',
        `NetworkPolicy/${ISOLATION_POLICY_NAME}`,
      ].sort(),
    );
    // Every namespaced object is in one of the two namespaces; nothing is cluster-wide but the namespaces.
    for (const o of objects) {
      if (o.kind === 'Namespace') expect(o.metadata.namespace).toBeUndefined();
      else expect([SERVER_NAMESPACE, SANDBOX_NAMESPACE], objectKey(o)).toContain(o.metadata.namespace);
    }
    expect(objects.some((o) => /^Cluster/.test(o.kind))).toBe(false);
  });

  it('every generated file is exactly what the code writes (run `npm run k8s:manifests` after changing the code)', () => {
    for (const { path: name, text } of generatedManifests()) {
      expect(readFileSync(path.join(DIR, name), 'utf8'), `deploy/kubernetes/${name}`).toBe(text);
      expect(entries.some((e) => e.file === name), `${name} is listed in kustomization.yaml`).toBe(true);
    }
  });

  it("the sandbox namespace's isolation policy is the object pod-spec.ts builds", () => {
    expect(find('NetworkPolicy', ISOLATION_POLICY_NAME, SANDBOX_NAMESPACE)).toEqual(isolationPolicy(SANDBOX_NAMESPACE));
    const denyAll = find('NetworkPolicy', 'opslab-default-deny', SANDBOX_NAMESPACE);
    expect(denyAll.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  describe.each(SERVER_PROPERTIES)('server Deployment: $name', (property) => {
    it('holds', () => expect(property.holds(deployment)).toBe(true));
    it('its check fails without it', () => {
      const copy = structuredClone(deployment);
      property.remove(copy);
      expect(property.holds(copy)).toBe(false);
    });
  });

  it('runs where Pod Security "restricted" is enforced, and sandboxes where "baseline" is', () => {
    const labels = (name: string) => find('Namespace', name).metadata.labels ?? {};
    expect(labels(SERVER_NAMESPACE)['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(labels(SANDBOX_NAMESPACE)['pod-security.kubernetes.io/enforce']).toBe('baseline');
    expect(deployment.metadata.namespace).toBe(SERVER_NAMESPACE);
  });

  it("the settings are ones the server's configuration accepts, and match the container's port and volumes", () => {
    const settings = find('ConfigMap', 'opslab-settings', SERVER_NAMESPACE).data as Record<string, string>;
    for (const key of Object.keys(settings)) expect(key).toMatch(/^OPSLAB_[A-Z0-9_]+$/);
    expect(settings).not.toHaveProperty('OPSLAB_DATABASE_URL');
    const config = loadConfig(settings, '/app');
    const server = serverOf(deployment);
    expect(server.ports).toEqual([{ name: 'http', containerPort: config.port, protocol: 'TCP' }]);
    expect(config.host).toBe('0.0.0.0');
    expect(server.volumeMounts.map((m: Loose) => m.mountPath)).toContain(config.dataDir);
    expect(server.envFrom).toEqual([{ configMapRef: { name: 'opslab-settings' } }]);
  });

  it('the Service and the disruption budget select the server pods, and the budget keeps one of two', () => {
    const podLabels = deployment.spec.template.metadata.labels;
    expect(selects({ matchLabels: deployment.spec.selector.matchLabels }, podLabels)).toBe(true);
    const service = find('Service', 'opslab-server', SERVER_NAMESPACE);
    expect(selects({ matchLabels: service.spec.selector }, podLabels)).toBe(true);
    expect(service.spec.ports[0].targetPort).toBe('http');
    const pdb = find('PodDisruptionBudget', 'opslab-server', SERVER_NAMESPACE);
    expect(selects(pdb.spec.selector, podLabels)).toBe(true);
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
  });

  it('RBAC: the server account may do only what a sandbox driver needs, only in the sandbox namespace', () => {
    const role = find('Role', 'opslab-sandbox-driver', SANDBOX_NAMESPACE);
    const granted = new Set<string>();
    for (const rule of role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
      for (const group of rule.apiGroups) for (const resource of rule.resources) for (const verb of rule.verbs) granted.add(`${group}|${resource}|${verb}`);
    }
    const read = ['get', 'list', 'watch'];
    const expected = [
      ...[...read, 'create', 'delete'].map((v) => `|pods|${v}`),
      ...['create', 'get'].flatMap((v) => [`|pods/exec|${v}`, `|pods/attach|${v}`]),
      '|pods/log|get',
      ...read.flatMap((v) => [`|events|${v}`, `events.k8s.io|events|${v}`]),
      ...read.map((v) => `networking.k8s.io|networkpolicies|${v}`),
    ];
    expect([...granted].sort()).toEqual(expected.sort());
    const binding = find('RoleBinding', 'opslab-sandbox-driver', SANDBOX_NAMESPACE);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'opslab-sandbox-driver' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'opslab-server', namespace: SERVER_NAMESPACE }]);
    const account = find('ServiceAccount', 'opslab-server', SERVER_NAMESPACE);
    expect(account.automountServiceAccountToken).toBe(false);
  });

  it('the server may receive HTTP and reach only DNS, PostgreSQL and the API server', () => {
    const policy = find('NetworkPolicy', 'opslab-server', SERVER_NAMESPACE);
    expect(selects(policy.spec.podSelector, deployment.spec.template.metadata.labels)).toBe(true);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 8080 }] }]);
    const ports = (policy.spec.egress as Loose[]).flatMap((rule) => rule.ports.map((p: Loose) => `${p.protocol}/${p.port}`)).sort();
    expect(ports).toEqual(['TCP/443', 'TCP/5432', 'TCP/53', 'TCP/6443', 'UDP/53'].sort());
    expect(find('NetworkPolicy', 'opslab-default-deny', SERVER_NAMESPACE).spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  const kubectl = kubectlWithKustomize();
  it.skipIf(!kubectl.ok)(
    `kubectl kustomize renders exactly these objects${kubectl.ok ? '' : ` (skipped: ${kubectl.reason})`}`,
    () => {
      const rendered = kubectlKustomize(DIR);
      const byKey = (list: K8sObject[]) => Object.fromEntries(list.map((o) => [objectKey(o), o]));
      expect(rendered.length).toBe(objects.length);
      expect(byKey(rendered)).toEqual(byKey(objects));
    },
  );
});
