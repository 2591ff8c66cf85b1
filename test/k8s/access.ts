// Who may do what in the test cluster: SelfSubjectAccessReviews asked with an identity's own credentials,
// and TokenRequest tokens for ServiceAccounts (what the kubelet would mount into their pods).
import { KubeConfig } from '@kubernetes/client-node';
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
