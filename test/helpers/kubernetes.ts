// Kubernetes objects in tests, without a cluster: validation against the API's schemas (kubernetes-models, the
// OpenAPI schemas of Kubernetes compiled to validators), a kustomization read with the `yaml` package alone, and the
// same kustomization rendered by `kubectl kustomize` when a recent enough kubectl is on the machine.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { ConfigMap, Namespace, Pod, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { validate as deploymentSchema } from 'kubernetes-models/_schemas/IoK8sApiAppsV1Deployment';
import { validate as configMapSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap';
import { validate as namespaceSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Namespace';
import { validate as podSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Pod';
import { validate as serviceSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Service';
import { validate as serviceAccountSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount';
import { validate as networkPolicySchema } from 'kubernetes-models/_schemas/IoK8sApiNetworkingV1NetworkPolicy';
import { validate as runtimeClassSchema } from 'kubernetes-models/_schemas/IoK8sApiNodeV1RuntimeClass';
import { validate as pdbSchema } from 'kubernetes-models/_schemas/IoK8sApiPolicyV1PodDisruptionBudget';
import { validate as roleSchema } from 'kubernetes-models/_schemas/IoK8sApiRbacV1Role';
import { validate as roleBindingSchema } from 'kubernetes-models/_schemas/IoK8sApiRbacV1RoleBinding';

type Model = new (data: any) => { validate(): void };
type Schema = (data: unknown) => boolean;

/** The kinds opslab's manifests and builders use, each with its model (readable errors) and its schema function. */
const MODELS: Record<string, [Model, Schema]> = {
  'v1/Namespace': [Namespace, namespaceSchema],
  'v1/ServiceAccount': [ServiceAccount, serviceAccountSchema],
  'v1/ConfigMap': [ConfigMap, configMapSchema],
  'v1/Service': [Service, serviceSchema],
  'v1/Pod': [Pod, podSchema],
  'apps/v1/Deployment': [Deployment, deploymentSchema],
  'networking.k8s.io/v1/NetworkPolicy': [NetworkPolicy, networkPolicySchema],
  'node.k8s.io/v1/RuntimeClass': [RuntimeClass, runtimeClassSchema],
  'policy/v1/PodDisruptionBudget': [PodDisruptionBudget, pdbSchema],
  'rbac.authorization.k8s.io/v1/Role': [Role, roleSchema],
  'rbac.authorization.k8s.io/v1/RoleBinding': [RoleBinding, roleBindingSchema],
};

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [key: string]: any };

export const objectKey = (o: K8sObject): string => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * The fields of `object` its schema does not know (a misspelt `readOnlyRootFilesytem` would otherwise pass: the
 * schemas do not refuse unknown fields). The schema function is run on a proxy that records every field it reads;
 * it reads every field its schema names, and every key of a map (labels, data), so a field it never read is unknown.
 */
export function unknownFields(schema: Schema, object: unknown): string[] {
  const read = new Set<string>();
  const wrap = (value: unknown, at: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    return new Proxy(value, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver);
        if (typeof key !== 'string' || !Object.hasOwn(target, key)) return v;
        read.add(`${at}/${key}`);
        return wrap(v, `${at}/${key}`);
      },
      ownKeys(target) {
        for (const key of Reflect.ownKeys(target)) if (typeof key === 'string') read.add(`${at}/${key}`);
        return Reflect.ownKeys(target);
      },
    });
  };
  schema(wrap(object, ''));
  const unknown: string[] = [];
  const walk = (value: unknown, at: string) => {
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      const here = `${at}/${key}`;
      if (!read.has(here)) unknown.push(here);
      else walk(child, here);
    }
  };
  walk(object, '');
  return unknown;
}

/**
 * Throws with every schema error of the object (types, enums, formats, required fields), or the fields its schema
 * does not know, or because its kind has no schema here.
 */
export function validateObject(object: K8sObject): void {
  const entry = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!entry) throw new Error(`no schema for ${object.apiVersion} ${object.kind} in test/helpers/kubernetes.ts`);
  const [model, schema] = entry;
  try {
    new model(structuredClone(object)).validate();
  } catch (err) {
    throw new Error(`${object.kind} ${object.metadata?.name}: ${(err as Error).message}`);
  }
  const unknown = unknownFields(schema, object);
  if (unknown.length > 0) throw new Error(`${object.kind} ${object.metadata?.name}: fields Kubernetes does not know: ${unknown.join(', ')}`);
}

/** Every object of a YAML file (several documents), in order; empty documents (a trailing `---`) left out. */
export function readYamlObjects(file: string): K8sObject[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const objects: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

/** The fields of a kustomization.yaml this reading understands: anything else would need kustomize itself. */
const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'resources']);

/**
 * The objects of a kustomization that lists files as its resources and transforms nothing, read without
 * kustomize; any other field is refused, so this reading cannot quietly differ from kustomize's.
 */
export function readKustomization(dir: string): { file: string; object: K8sObject }[] {
  const kustomization = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
  for (const field of Object.keys(kustomization)) {
    if (!KUSTOMIZATION_FIELDS.has(field)) throw new Error(`kustomization.yaml: "${field}" is not read by test/helpers/kubernetes.ts`);
  }
  const resources = kustomization.resources as string[];
  return resources.flatMap((resource) => readYamlObjects(path.join(dir, resource)).map((object) => ({ file: resource, object })));
}

/** kubectl with kustomize v5 or later, or why there is none to use. */
export function kubectlWithKustomize(): { ok: true } | { ok: false; reason: string } {
  const result = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 20_000 });
  if (result.error || result.status !== 0) return { ok: false, reason: 'kubectl is not on this machine' };
  let version: string | undefined;
  try {
    version = (JSON.parse(result.stdout) as { kustomizeVersion?: string }).kustomizeVersion;
  } catch {
    return { ok: false, reason: 'kubectl did not say its version' };
  }
  const major = Number(/^v?(\d+)\./.exec(version ?? '')?.[1]);
  if (!(major >= 5)) return { ok: false, reason: `kubectl's kustomize is ${version ?? 'unknown'}, not v5 or later` };
  return { ok: true };
}

/** `kubectl kustomize dir`'s objects. */
export function kubectlKustomize(dir: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${result.stderr || result.error?.message}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** Whether a label selector (matchLabels and In/NotIn/Exists/DoesNotExist expressions) selects these labels. */
export function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] },
  labels: Record<string, string>,
): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok =
      operator === 'In' ? has && values.includes(labels[key]!)
      : operator === 'NotIn' ? !has || !values.includes(labels[key]!)
      : operator === 'Exists' ? has
      : operator === 'DoesNotExist' ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}

/** The capabilities Pod Security "baseline" lets a container add. */
export const BASELINE_CAPABILITIES = [
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID',
  'SETPCAP', 'SETUID', 'SYS_CHROOT',
];
