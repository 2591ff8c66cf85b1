// `portico migrate` as a user runs it: files in (kubectl's `-o yaml` List, a directory, stdin), a report out, and the
// exit status a script can branch on. Also: the README's annotation table is the registry the report reads, so the
// two never disagree.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { annotationSupport, annotationTable } from '../../sync/migrate/annotation-support.ts';
import type { MigrationReport } from '../../sync/migrate/report.ts';
import { ROOT, runPortico } from '../support/process.ts';

const tmp = mkdtempSync(join(tmpdir(), 'portico-migrate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ingress = (name: string, annotations: Record<string, string>, className = 'nginx') => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { namespace: 'default', name, annotations },
  spec: {
    ingressClassName: className,
    rules: [
      {
        host: `${name}.test`,
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] },
      },
    ],
  },
});
const SERVICE = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'web' }, spec: { ports: [{ port: 80 }] } };
const NGINX_CLASS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name: 'nginx' },
  spec: { controller: 'k8s.io/ingress-nginx' },
};
/** What `kubectl get ingress,ingressclass,service -A -o yaml` prints: one List. */
const list = (...items: object[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
const file = (name: string, text: string): string => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

describe('exit status and output', () => {
  it('0 when every served Ingress is honoured exactly (ssl-redirect, a class taken over)', () => {
    const p = file('exact.json', list(NGINX_CLASS, SERVICE, ingress('plain', { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' })));
    const r = runPortico(['migrate', '--from', p, '--serve-class', 'nginx']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}Ingress default\/plain: served, 1 route; spec\.ingressClassName: nginx$/m);
    expect(r.stdout).toMatch(/^ {4}honoured +nginx\.ingress\.kubernetes\.io\/ssl-redirect="false"/m);
    expect(r.stdout).toMatch(/Nothing would change: exit status 0\./);
  });

  it('1 when something differs, and the JSON names what: a class not served, a snippet refused, an unknown annotation', () => {
    const p = file(
      'differs.json',
      list(
        NGINX_CLASS,
        SERVICE,
        ingress('snippet', { 'nginx.ingress.kubernetes.io/configuration-snippet': 'more_set_headers "X-Id: $request_id";' }),
        ingress('typo', { 'nginx.ingress.kubernetes.io/rewrite-targets': '/' }),
        ingress('other', {}, 'traefik'),
      ),
    );
    const r = runPortico(['migrate', '--from', p, '--serve-class', 'nginx', '-o', 'json']);
    expect(r.status, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as MigrationReport;
    const by = Object.fromEntries(report.ingresses.map((i) => [i.name, i]));
    expect(by.other).toMatchObject({ served: false, notServed: 'class traefik is not served: --serve-class traefik' });
    expect(by.snippet).toMatchObject({ served: true, routes: 1, closedRoutes: 1, differs: true });
    expect(by.typo!.annotations).toEqual([
      expect.objectContaining({ key: 'nginx.ingress.kubernetes.io/rewrite-targets', support: 'unknown' }),
    ]);
    expect(report.summary).toMatchObject({ ingresses: 3, served: 2, notServed: 1 });
  });

  it('reads stdin (`kubectl get ... -o yaml | portico migrate --from -`)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/portico.ts', 'migrate', '--from', '-', '--serve-class', 'nginx'], {
      cwd: ROOT,
      input: list(NGINX_CLASS, SERVICE, ingress('piped', {})),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Ingress default\/piped: served/);
  });

  it.each([
    ['neither --from nor --kubeconfig', ['migrate'], /give --from FILE\|DIR\|- \(one or more\) or --kubeconfig PATH/],
    ['an unknown output format', ['migrate', '--from', '.', '-o', 'yaml'], /-o: expected text or json, got "yaml"/],
    ['a file that does not exist', ['migrate', '--from', '/nonexistent/ingresses.yaml'], /--from: .*ENOENT/],
    [
      'a malformed --serve-class',
      ['migrate', '--from', '.', '--serve-class', 'Not A Class'],
      /--serve-class: "Not A Class" is not an IngressClass name/,
    ],
  ])('2 for %s, in one line', (_name, args, message) => {
    const r = runPortico(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('the annotation registry', () => {
  it("is the README's table, row for row (node --import tsx sync/migrate/annotation-table.ts prints it)", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`${annotationTable()}\n`);
  });
  it.each([
    ['nginx.ingress.kubernetes.io/session-cookie-name', 'differs'],
    ['ssl-redirect', 'honoured'],
    ['auth-snippet', 'fails-closed'],
    ['mirror-target', 'not-honoured'],
  ])('%s → %s', (key, support) => {
    expect(annotationSupport(key)?.support).toBe(support);
  });
  it('an annotation ingress-nginx does not document has no row', () => {
    expect(annotationSupport('nginx.ingress.kubernetes.io/rewrite-targets')).toBeNull();
  });
});
