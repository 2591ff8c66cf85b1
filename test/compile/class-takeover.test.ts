// Taking over another controller's class (--serve-class, --watch-ingress-without-class) and the report of what
// is not selected (class-report.ts): named cases through the compiler harness (validate() passes, input order
// does not matter).
import { describe, expect, it } from 'vitest';
import { classReport, classSelectionMessage, selectingFlags } from '../../sync/compile/class-report.ts';
import { DEFAULT_COMPILE_OPTIONS, type Ingress } from '../../sync/compile/types.ts';
import { app, cls, ingress, objects, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const NGINX_CLS = cls('nginx', { controller: 'k8s.io/ingress-nginx' });
const NGINX_DEFAULT = cls('nginx', { controller: 'k8s.io/ingress-nginx', isDefault: true });
const WEB = app('web', ['10.0.0.1']);
const named = (name: string, className: string | null): Ingress =>
  ingress(name, { className, rules: [rule(`${name}.com`, prefix('/', 'web'))] });
const annotated = (name: string, value: string): Ingress =>
  ingress(name, {
    className: null,
    annotations: { 'kubernetes.io/ingress.class': value },
    rules: [rule(`${name}.com`, prefix('/', 'web'))],
  });
const NGINX = { serveClasses: ['nginx'] };

const cases: Case[] = [
  {
    name: '--serve-class nginx: ingressClassName nginx is ours although the class names k8s.io/ingress-nginx',
    objects: [CLS, NGINX_CLS, ...WEB, named('a', 'nginx')],
    options: NGINX,
    accepted: ['default/a'],
  },
  {
    name: '--serve-class nginx: the legacy annotation nginx is ours',
    objects: [CLS, NGINX_CLS, ...WEB, annotated('a', 'nginx')],
    options: NGINX,
    accepted: ['default/a'],
  },
  {
    name: '--serve-class nginx: served even without the IngressClass object',
    objects: [CLS, ...WEB, named('a', 'nginx'), annotated('b', 'nginx')],
    options: NGINX,
    accepted: ['default/a', 'default/b'],
  },
  {
    name: '--serve-class nginx: Ingresses without a class are ours when nginx is the default class',
    objects: [CLS, NGINX_DEFAULT, ...WEB, named('a', null)],
    options: NGINX,
    accepted: ['default/a'],
  },
  {
    name: '--serve-class nginx: Ingresses without a class are not ours when nginx is not the default',
    objects: [CLS, NGINX_CLS, ...WEB, named('a', null)],
    options: NGINX,
    accepted: [],
  },
  {
    name: '--serve-class nginx: our own class stays ours, another stays not',
    objects: [CLS, NGINX_CLS, ...WEB, named('a', 'portico'), named('b', 'other'), annotated('c', 'other')],
    options: NGINX,
    accepted: ['default/a'],
  },
  {
    name: 'without --serve-class the nginx class is not ours (the default)',
    objects: [CLS, NGINX_CLS, ...WEB, named('a', 'nginx'), annotated('b', 'nginx')],
    accepted: [],
  },
  {
    name: '--watch-ingress-without-class: an Ingress with no class is ours',
    objects: [CLS, ...WEB, named('a', null)],
    options: { watchWithoutClass: true },
    accepted: ['default/a'],
  },
  {
    name: '--watch-ingress-without-class does not take an Ingress of another class',
    objects: [CLS, ...WEB, named('a', 'nginx'), annotated('b', 'nginx')],
    options: { watchWithoutClass: true },
    accepted: [],
  },
];

describe('class takeover', () => {
  for (const c of cases) it(c.name, () => void runCase(c));
});

describe('classReport: what is not served, and the flag that would serve it', () => {
  const objs = objects(
    CLS,
    NGINX_CLS,
    named('a', 'nginx'),
    named('b', 'nginx'),
    annotated('c', 'nginx'),
    annotated('d', 'traefik'),
    named('e', null),
  );
  it('counts by reason and names the classes seen', () => {
    const r = classReport(objs, DEFAULT_COMPILE_OPTIONS);
    expect(r).toEqual({
      ingresses: 5,
      selected: 0,
      notSelected: { 'ingress-class-name': 2, 'legacy-annotation': 2, 'no-class': 1 },
      classesSeen: [
        { name: 'nginx', count: 3 },
        { name: 'traefik', count: 1 },
      ],
      annotationClass: 'portico',
      namedLikeAnnotationClass: 0,
    });
    expect(selectingFlags(r)).toEqual(['--serve-class nginx', '--serve-class traefik', '--watch-ingress-without-class']);
    expect(classSelectionMessage(r)).toBe(
      'serving no Ingress: 5 exist, none of a class this agent serves; classes seen: nginx (3), traefik (1), no class (1); to serve them: --serve-class nginx --serve-class traefik --watch-ingress-without-class',
    );
  });
  it('says nothing once something is served', () => {
    const r = classReport(objs, { ...DEFAULT_COMPILE_OPTIONS, serveClasses: ['nginx'] });
    expect(r.selected).toBe(3);
    expect(classSelectionMessage(r)).toBeNull();
  });
  it('--ingress-class nginx with the leftover IngressClass nginx: the annotated ones are served, the named ones are not, and it says so', () => {
    const r = classReport(objs, { ...DEFAULT_COMPILE_OPTIONS, annotationClass: 'nginx' });
    expect({ selected: r.selected, named: r.namedLikeAnnotationClass }).toEqual({ selected: 1, named: 2 });
    expect(classSelectionMessage(r)).toBe(
      "2 Ingress(es) with ingressClassName nginx are not served: --ingress-class nginx matches only the legacy kubernetes.io/ingress.class annotation, and IngressClass nginx is not of this agent's controller; to serve them: --serve-class nginx",
    );
  });
  it('says nothing when there is no Ingress at all', () =>
    expect(classSelectionMessage(classReport(objects(CLS), DEFAULT_COMPILE_OPTIONS))).toBeNull());
});
