// The files of deploy/kubernetes/ that are written from code rather than by hand, so that the cluster's objects
// and the driver's cannot drift apart: `npm run k8s:manifests` writes them, and
// test/unit/kubernetes-manifests.test.ts fails when a committed file differs from what this renders.
import { stringify } from 'yaml';
import { isolationPolicy, SANDBOX_NAMESPACE } from './pod-spec.js';

export interface GeneratedManifest {
  /** Relative to deploy/kubernetes/. */
  path: string;
  text: string;
}

const HEADER = [
  '# Written by `npm run k8s:manifests` from server/src/sandbox/drivers/kubernetes/pod-spec.ts: do not edit.',
  '# test/unit/kubernetes-manifests.test.ts fails when this file and the code differ.',
].join('\n');

export function generatedManifests(): GeneratedManifest[] {
  return [
    {
      path: 'sandbox-isolation.yaml',
      text: `${HEADER}\n${stringify(isolationPolicy(SANDBOX_NAMESPACE), { lineWidth: 0 })}`,
    },
  ];
}
