// Which Secrets the agent reads by name for basic authentication: only those our Ingresses name (selected by class
// as the compiler selects them), in their own namespace, with auth-type set. Pure: no apiserver needed.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COMPILE_OPTIONS } from '../../sync/compile/types.ts';
import { authSecretRefs } from '../../sync/kube/auth-secrets.ts';
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
  ];
  for (const [name, ing, want] of cases)
    it(name, () => expect([...authSecretRefs({ ingresses: [ing], ingressClasses: classes }, DEFAULT_COMPILE_OPTIONS)]).toEqual(want));
});
