// `portico migrate --kubeconfig`: the objects the agent would read, read once with the kubeconfig's identity. Lists
// what the agent watches (Ingresses, IngressClasses, Services, EndpointSlices, TLS Secrets) and reads by name the
// Secrets and ConfigMaps the Ingresses' annotations and the settings flags name, with the agent's own reference
// functions (sync/kube/auth-secrets.ts), so the compiler sees what it would see in the agent.
import { AuthSecrets, authSecretRefs, customHeadersRefs, jwtSourceRefs, proxySetHeadersRefs } from '../sync/kube/auth-secrets.ts';
import { KubeRest } from '../sync/kube/rest.ts';
import type { ClusterObjects, CompileOptions, ConfigMap } from '../sync/compile/types.ts';
import { loadKubeConfig } from './sync.ts';
import { log } from './log.ts';
import { UsageError } from './usage-error.ts';

async function list<T>(rest: KubeRest, path: string): Promise<T[]> {
  try {
    return (await rest.request<{ items?: T[] }>('GET', path)).items ?? [];
  } catch (err) {
    throw new UsageError(`--kubeconfig: cannot list ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
}

export async function readCluster(kubeconfig: string, options: CompileOptions, secretSelector?: string): Promise<ClusterObjects> {
  const rest = new KubeRest(loadKubeConfig(kubeconfig));
  const watched: ClusterObjects = {
    ingresses: await list(rest, '/apis/networking.k8s.io/v1/ingresses'),
    ingressClasses: await list(rest, '/apis/networking.k8s.io/v1/ingressclasses'),
    services: await list(rest, '/api/v1/services'),
    endpointSlices: await list(rest, '/apis/discovery.k8s.io/v1/endpointslices'),
    // As the agent watches them: TLS Secrets only, narrowed by --secret-selector when given.
    secrets: await list(
      rest,
      `/api/v1/secrets?fieldSelector=${encodeURIComponent('type=kubernetes.io/tls')}${secretSelector ? `&labelSelector=${encodeURIComponent(secretSelector)}` : ''}`,
    ),
  };
  const jwt = jwtSourceRefs(watched, options);
  const secrets = new AuthSecrets(rest, log);
  await secrets.refresh(
    new Set([
      ...authSecretRefs(watched, options),
      ...jwt.secrets,
      ...(options.defaultSslCertificate === undefined ? [] : [options.defaultSslCertificate]),
    ]),
    true,
  );
  const configMaps = new AuthSecrets<ConfigMap>(rest, log, 'ConfigMap');
  await configMaps.refresh(
    new Set([
      ...jwt.configMaps,
      ...proxySetHeadersRefs(watched, options),
      ...customHeadersRefs(watched, options),
      ...(options.nginxConfigMap === undefined ? [] : [options.nginxConfigMap]),
    ]),
    true,
  );
  return { ...watched, secrets: [...watched.secrets, ...secrets.secrets()], configMaps: configMaps.secrets() };
}
