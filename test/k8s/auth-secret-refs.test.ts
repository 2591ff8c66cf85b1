// Which Secrets the agent reads by name for basic authentication, client certificates and upstream TLS: only those our Ingresses name (selected by class
// as the compiler selects them), in their own namespace, with auth-type set. Pure: no apiserver needed.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COMPILE_OPTIONS } from '../../sync/compile/types.ts';
import { authSecretRefs, customHeadersRefs, jwtSourceRefs, proxySetHeadersRefs } from '../../sync/kube/auth-secrets.ts';
import { cls, ingress } from '../support/builders.ts';

const N = 'nginx.ingress.kubernetes.io/';
const basic = (secret: string) => ({ [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: secret });
const classes = [cls('portico'), cls('nginx', { controller: 'k8s.io/ingress-nginx' })];

describe('authSecretRefs()', () => {
  const cases: [name: string, ing: ReturnType<typeof ingress>, want: string[]][] = [
    ['a name: the Secret in the Ingress namespace', ingress('a', { namespace: 'team', annotations: basic('users') }), ['team/users']],
    ['namespace/name of its own namespace', ingress('a', { namespace: 'team', annotations: basic(' team/users ') }), ['team/users']],
    ["another namespace's Secret is never read", ingress('a', { namespace: 'team', annotations: basic('kube-system/users') }), []],
    ['without auth-type, nothing', ingress('a', { annotations: { [`${N}auth-secret`]: 'users' } }), []],
    ['a value that names no Secret, nothing', ingress('a', { annotations: basic('a/b/c') }), []],
    ["another controller's Ingress: its Secret is not ours to read", ingress('a', { className: 'nginx', annotations: basic('users') }), []],
    ['an Ingress of a class nobody defines, nothing', ingress('a', { className: 'other', annotations: basic('users') }), []],
    [
      'proxy-ssl-secret of its own namespace (proxyssl.go)',
      ingress('a', { namespace: 'team', annotations: { [`${N}proxy-ssl-secret`]: 'team/backend-tls' } }),
      ['team/backend-tls'],
    ],
    [
      'proxy-ssl-secret of another namespace is never read',
      ingress('a', { namespace: 'team', annotations: { [`${N}proxy-ssl-secret`]: 'kube-system/backend-tls' } }),
      [],
    ],
  ];
  for (const [name, ing, want] of cases)
    it(name, () => expect([...authSecretRefs({ ingresses: [ing], ingressClasses: classes }, DEFAULT_COMPILE_OPTIONS)]).toEqual(want));
});

describe('jwtSourceRefs(): what the JWT annotations of our Ingresses name', () => {
  const P = 'portico.dev/auth-jwt-';
  const cases: [name: string, annotations: Record<string, string>, want: { secrets: string[]; configMaps: string[]; urls: string[] }][] = [
    ['a ConfigMap by name', { [`${P}jwks-configmap`]: 'keys' }, { secrets: [], configMaps: ['team/keys'], urls: [] }],
    ['a Secret as namespace/name', { [`${P}jwks-secret`]: 'team/keys' }, { secrets: ['team/keys'], configMaps: [], urls: [] }],
    [
      "another namespace's ConfigMap is never read",
      { [`${P}jwks-configmap`]: 'kube-system/keys' },
      { secrets: [], configMaps: [], urls: [] },
    ],
    ['an https URL', { [`${P}jwks-url`]: 'https://idp.test/jwks' }, { secrets: [], configMaps: [], urls: ['https://idp.test/jwks'] }],
    [
      'a plain http URL to another host is never fetched',
      { [`${P}jwks-url`]: 'http://10.0.0.1/jwks' },
      { secrets: [], configMaps: [], urls: [] },
    ],
  ];
  for (const [name, annotations, want] of cases)
    it(name, () => {
      const r = jwtSourceRefs(
        { ingresses: [ingress('a', { namespace: 'team', annotations })], ingressClasses: classes },
        DEFAULT_COMPILE_OPTIONS,
      );
      expect({ secrets: [...r.secrets], configMaps: [...r.configMaps], urls: [...r.urls] }).toEqual(want);
    });
  it("another controller's Ingress: nothing", () => {
    const r = jwtSourceRefs(
      { ingresses: [ingress('a', { className: 'nginx', annotations: { [`${P}jwks-configmap`]: 'keys' } })], ingressClasses: classes },
      DEFAULT_COMPILE_OPTIONS,
    );
    expect([...r.configMaps]).toEqual([]);
  });
});

describe('proxySetHeadersRefs(): the ConfigMaps auth-proxy-set-headers of our Ingresses name', () => {
  const headers = (cm: string, url = true) => ({
    ...(url ? { [`${N}auth-url`]: 'http://auth.test/' } : {}),
    [`${N}auth-proxy-set-headers`]: cm,
  });
  const cases: [name: string, ing: ReturnType<typeof ingress>, want: string[]][] = [
    ['namespace/name (auth.go)', ingress('a', { namespace: 'team', annotations: headers('team/auth-headers') }), ['team/auth-headers']],
    ['a name: the Ingress own namespace', ingress('a', { namespace: 'team', annotations: headers('auth-headers') }), ['team/auth-headers']],
    ["another namespace's ConfigMap is never read", ingress('a', { namespace: 'team', annotations: headers('kube-system/x') }), []],
    ['without auth-url the compiler reads none, so neither does the agent', ingress('a', { annotations: headers('x', false) }), []],
    ['a value that names no ConfigMap, nothing', ingress('a', { annotations: headers('a/b/c') }), []],
    ["another controller's Ingress, nothing", ingress('a', { className: 'nginx', annotations: headers('x') }), []],
  ];
  for (const [name, ing, want] of cases)
    it(name, () => expect([...proxySetHeadersRefs({ ingresses: [ing], ingressClasses: classes }, DEFAULT_COMPILE_OPTIONS)]).toEqual(want));
});

describe('customHeadersRefs(): the ConfigMaps custom-headers of our Ingresses name', () => {
  const headers = (cm: string) => ({ [`${N}custom-headers`]: cm });
  const cases: [name: string, ing: ReturnType<typeof ingress>, want: string[]][] = [
    [
      'namespace/name (customheaders.go)',
      ingress('a', { namespace: 'team', annotations: headers('team/custom-headers') }),
      ['team/custom-headers'],
    ],
    [
      'a name: the Ingress own namespace',
      ingress('a', { namespace: 'team', annotations: headers(' custom-headers ') }),
      ['team/custom-headers'],
    ],
    ["another namespace's ConfigMap is never read", ingress('a', { namespace: 'team', annotations: headers('kube-system/x') }), []],
    ['a value that names no ConfigMap, nothing', ingress('a', { annotations: headers('a/b/c') }), []],
    ["another controller's Ingress, nothing", ingress('a', { className: 'nginx', annotations: headers('x') }), []],
  ];
  for (const [name, ing, want] of cases)
    it(name, () => expect([...customHeadersRefs({ ingresses: [ing], ingressClasses: classes }, DEFAULT_COMPILE_OPTIONS)]).toEqual(want));
});
