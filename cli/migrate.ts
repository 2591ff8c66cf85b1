// `portico migrate`: read-only. From files (`kubectl get ingress,ingressclass,service,configmap -A -o yaml` output,
// or a directory of manifests; `-` is stdin) or from a cluster (a kubeconfig), with the agent's own class and
// settings flags, it says for every Ingress and every controller ConfigMap key what Portico would do, compared with
// ingress-nginx (sync/migrate/report.ts). Exit status: 0 when nothing would change, 1 when something would, 2 for
// a bad flag or unreadable input.
import { readFileSync, statSync } from 'node:fs';
import type { CompileOptions, ClusterObjects } from '../sync/compile/types.ts';
import { DEFAULT_COMPILE_OPTIONS } from '../sync/compile/types.ts';
import { addObject, emptyObjects, MAX_MANIFEST_BYTES, parseManifest, readManifests } from '../sync/manifests.ts';
import { migrationReport } from '../sync/migrate/report.ts';
import { renderReport } from '../sync/migrate/render.ts';
import { headerNames, parseFlags } from './args.ts';
import { classNames, trueOrFalse } from './class-flags.ts';
import { GATEWAY_SETTINGS_FLAGS, GATEWAY_SETTINGS_USAGE, parseGatewaySettingsFlags } from './gateway-settings-flags.ts';
import { UsageError } from './usage-error.ts';

export const MIGRATE_USAGE = `usage: portico migrate (--from FILE|DIR|-)... | --kubeconfig PATH  [-o text|json]
                       [--ingress-class portico] [--controller portico.dev/ingress-controller] [--serve-class NAME]...
                       [--watch-ingress-without-class true|false] [--global-allowed-response-headers NAME,...] [--secret-selector LABELS]
                       ${GATEWAY_SETTINGS_USAGE}
The same class and settings flags as \`portico sync\`: the report is what the agent would serve with them.
Exit status: 0 nothing would behave differently from ingress-nginx, 1 something would (marked !), 2 bad input.`;

export interface MigrateConfig {
  from: string[];
  kubeconfig: string | null;
  /** --secret-selector, as the agent's: only TLS Secrets with these labels are seen. */
  secretSelector: string | undefined;
  output: 'text' | 'json';
  options: CompileOptions;
}

export function parseMigrateFlags(argv: string[]): MigrateConfig {
  const v = parseFlags(argv, {
    from: { type: 'string', multiple: true },
    kubeconfig: { type: 'string' },
    output: { type: 'string', short: 'o' },
    'ingress-class': { type: 'string' },
    controller: { type: 'string' },
    'serve-class': { type: 'string', multiple: true },
    'watch-ingress-without-class': { type: 'string' },
    'global-allowed-response-headers': { type: 'string' },
    'secret-selector': { type: 'string' },
    ...GATEWAY_SETTINGS_FLAGS,
  });
  const from = v.from ?? [];
  if (from.length > 0 === (v.kubeconfig !== undefined)) throw new UsageError('give --from FILE|DIR|- (one or more) or --kubeconfig PATH');
  const output = v.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`-o: expected text or json, got ${JSON.stringify(output)}`);
  return {
    from,
    kubeconfig: v.kubeconfig ?? null,
    secretSelector: v['secret-selector'],
    output,
    options: {
      controller: v.controller ?? DEFAULT_COMPILE_OPTIONS.controller,
      annotationClass: v['ingress-class'] ?? DEFAULT_COMPILE_OPTIONS.annotationClass,
      serveClasses: classNames('serve-class', v['serve-class'] ?? []),
      watchWithoutClass: trueOrFalse('watch-ingress-without-class', v['watch-ingress-without-class'], false),
      allowedResponseHeaders: headerNames('global-allowed-response-headers', v['global-allowed-response-headers'] ?? ''),
      ...parseGatewaySettingsFlags(v),
    },
  };
}

/** Every object of the files, directories and stdin named by --from; an unreadable one is a usage error. */
async function readSources(paths: readonly string[]): Promise<ClusterObjects> {
  const out = emptyObjects();
  const merge = (o: ClusterObjects): void => {
    for (const [k, list] of Object.entries(o) as [keyof ClusterObjects, unknown[] | undefined][])
      if (Array.isArray(list)) ((out[k] ??= []) as unknown[]).push(...list);
  };
  for (const path of paths) {
    try {
      if (path !== '-' && statSync(path).isDirectory()) {
        merge(await readManifests(path));
        continue;
      }
      const text = readFileSync(path === '-' ? 0 : path, 'utf8');
      if (text.length > MAX_MANIFEST_BYTES) throw new UsageError(`--from: ${path} is larger than ${MAX_MANIFEST_BYTES} bytes`);
      // kubectl's `-o yaml` of several objects is one `kind: List`; addObject opens it.
      for (const doc of parseManifest(path === '-' ? 'stdin.yaml' : path, text)) addObject(out, doc);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`--from: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return out;
}

export async function runMigrate(argv: string[]): Promise<void> {
  const cfg = parseMigrateFlags(argv);
  const objects =
    cfg.kubeconfig === null
      ? await readSources(cfg.from)
      : await (await import('./migrate-cluster.ts')).readCluster(cfg.kubeconfig, cfg.options, cfg.secretSelector);
  const report = migrationReport(objects, cfg.options);
  process.stdout.write(cfg.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  process.exitCode = report.differs ? 1 : 0;
}
