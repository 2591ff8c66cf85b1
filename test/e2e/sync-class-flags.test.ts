// `portico sync` class and status flags (cli/class-flags.ts): each bad value is one clear line on stderr and
// exit status 2, before anything connects anywhere.
import { describe, expect, it } from 'vitest';
import { runPortico } from '../support/process.ts';

const base = [
  'sync',
  '--kubeconfig',
  '/nonexistent/kubeconfig',
  '--redis',
  'redis://127.0.0.1:1',
  '--cluster',
  'c',
  '--keys',
  '/nonexistent',
];

describe('portico sync: bad class and status flags are one line and exit 2', () => {
  it.each([
    [
      '--publish-service with --publish-address',
      ['--publish-service', 'ingress-nginx/ingress-nginx-controller', '--publish-address', '203.0.113.1'],
      /--publish-service and --publish-address exclude each other/,
    ],
    [
      '--publish-service without a namespace',
      ['--publish-service', 'ingress-nginx-controller'],
      /--publish-service: expected NAMESPACE\/NAME/,
    ],
    ['--publish-service with a bad name', ['--publish-service', 'ns/Bad_Name'], /--publish-service: expected NAMESPACE\/NAME/],
    ['--publish-service with three parts', ['--publish-service', 'a/b/c'], /--publish-service: expected NAMESPACE\/NAME/],
    ['--write-status that is not true or false', ['--write-status', 'yes'], /--write-status: expected true or false, got "yes"/],
    [
      '--watch-ingress-without-class that is not true or false',
      ['--watch-ingress-without-class', '1'],
      /--watch-ingress-without-class: expected true or false/,
    ],
    ['--serve-class that is not a class name', ['--serve-class', 'Nginx'], /--serve-class: "Nginx" is not an IngressClass name/],
  ])('%s', (_n, flags, message) => {
    const r = runPortico([...base, ...flags]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('good values get past flag parsing (to the missing key set, the next check)', () => {
    const r = runPortico([
      ...base,
      '--serve-class',
      'nginx',
      '--serve-class',
      'nginx-internal',
      '--write-status=false',
      '--watch-ingress-without-class=true',
      '--publish-service',
      'ingress-nginx/ingress-nginx-controller',
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^portico: --keys: cannot read \/nonexistent\/signing-key\.jwk\.json/);
  });
});
