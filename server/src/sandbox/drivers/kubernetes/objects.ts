// The part of the Kubernetes API's object shapes that opslab builds (core/v1 Pod, networking.k8s.io/v1
// NetworkPolicy), as plain types: the builders need no client library, and test/unit/kubernetes-pod-spec.test.ts
// validates what they build against the Kubernetes schemas.

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value: string;
}

/** Quantities as the API writes them: `512Mi`, `1500m`. */
export interface ResourceList {
  cpu: string;
  memory: string;
  'ephemeral-storage'?: string;
}

export interface SecurityContext {
  privileged: false;
  allowPrivilegeEscalation: false;
  capabilities: { drop: ['ALL']; add?: string[] };
  seccompProfile: { type: 'RuntimeDefault' };
  runAsNonRoot?: true;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy: 'IfNotPresent';
  command: string[];
  env: EnvVar[];
  tty: boolean;
  stdin: boolean;
  stdinOnce: false;
  resources: { requests: ResourceList; limits: ResourceList };
  securityContext: SecurityContext;
}

export interface PodSpec {
  containers: [Container];
  restartPolicy: 'Never';
  terminationGracePeriodSeconds: number;
  hostname?: string;
  hostNetwork: false;
  hostPID: false;
  hostIPC: false;
  shareProcessNamespace: false;
  automountServiceAccountToken: false;
  enableServiceLinks: false;
  dnsPolicy: 'None';
  dnsConfig: { nameservers: string[] };
  runtimeClassName?: string;
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In';
  values: string[];
}

export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec: {
    podSelector: { matchExpressions: LabelSelectorRequirement[] };
    /** Both, with no rule of either kind: nothing in, nothing out. */
    policyTypes: ['Ingress', 'Egress'];
  };
}
