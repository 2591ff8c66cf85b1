// Who may do what in the test cluster: SelfSubjectAccessReviews asked with an identity's own credentials,
// and TokenRequest tokens for ServiceAccounts (what the kubelet would mount into their pods).
import { readFileSync } from 'node:fs';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KubeRest } from '../../sync/kube/rest.ts';

export interface Access {
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export const kubeconfig = (file: string): KubeConfig => {
  const k = new KubeConfig();
  k.loadFromFile(file);
  return k;
};

/** Whether the identity of `kubeconfigFile` may `verb` `resource` (asked as that identity). */
export async function canI(kubeconfigFile: string, verb: string, resource: string, o: Access = {}): Promise<boolean> {
  const review = await new KubeRest(kubeconfig(kubeconfigFile)).request<{ status: { allowed: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {
        resourceAttributes: { verb, resource, group: o.group ?? '', namespace: o.namespace, name: o.name, subresource: o.subresource },
      },
    },
  );
  return review.status.allowed;
}

/** A bound token of ServiceAccount `namespace/name`, from the TokenRequest API. */
export async function serviceAccountToken(admin: KubeRest, namespace: string, name: string): Promise<string> {
  const r = await admin.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  return r.status.token;
}

/** Creates exactly what the chart ships for the agent (infra/rbac/agent.yaml: its namespace, ServiceAccount,
 * ClusterRole, Role and bindings) through the admin's REST client. */
export async function installAgentRbac(admin: KubeRest): Promise<void> {
  for (const doc of parseAllDocuments(readFileSync(new URL('../../infra/rbac/agent.yaml', import.meta.url), 'utf8'))) {
    const o = doc.toJSON() as KubernetesObject;
    const ns = o.metadata?.namespace;
    const path =
      o.kind === 'Namespace'
        ? '/api/v1/namespaces'
        : o.kind === 'ServiceAccount'
          ? `/api/v1/namespaces/${ns}/serviceaccounts`
          : `/apis/rbac.authorization.k8s.io/v1${ns ? `/namespaces/${ns}` : ''}/${o.kind!.toLowerCase()}s`;
    await admin.request('POST', path, o);
  }
}

/** What the agent tests and benches serve from: namespace `ns`, the IngressClass `portico` of our controller (the
 * cluster's default one with `defaultClass`) and a Service `web` (port 80) the Ingresses route to. */
export async function seedIngressNamespace(admin: KubeRest, ns: string, o: { defaultClass?: boolean } = {}): Promise<void> {
  await admin.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await admin.request('POST', '/apis/networking.k8s.io/v1/ingressclasses', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'portico', ...(o.defaultClass ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}) },
    spec: { controller: 'portico.dev/ingress-controller' },
  });
  await admin.request('POST', `/api/v1/namespaces/${ns}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { ports: [{ name: 'http', port: 80 }] },
  });
}
