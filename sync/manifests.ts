// Reads Kubernetes manifests from a directory (local mode and `sync --manifests`): every `*.json` (one
// object or a `List`) and every `*.yaml`/`*.yml` (multi-document). One unparsable file fails the whole
// read with an error naming the file, so the caller keeps its last good table rather than serving a
// table with that file's objects silently missing.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isRecord } from '../gateway/table/names.ts';
import type { ClusterObjects } from './compile/types.ts';
import { PorticoError } from '../gateway/table/portico-error.ts';

export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const MANIFEST = /\.(json|ya?ml)$/;

export class ManifestError extends PorticoError {
  readonly code = 'PORTICO_MANIFEST';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

export function emptyObjects(): ClusterObjects {
  return { ingresses: [], ingressClasses: [], services: [], endpointSlices: [], secrets: [], configMaps: [] };
}

/** Sorts parsed documents into ClusterObjects by kind; other kinds are ignored. Namespaced kinds without
 * a namespace get `default`, as `kubectl apply` would give them. */
export function addObject(into: ClusterObjects, doc: unknown): void {
  if (!isRecord(doc)) return;
  if (doc.kind === 'List' && Array.isArray(doc.items)) {
    for (const item of doc.items) addObject(into, item);
    return;
  }
  const withNs = (): Record<string, unknown> => {
    const meta = isRecord(doc.metadata) ? doc.metadata : {};
    return { ...doc, metadata: { namespace: 'default', ...meta } };
  };
  switch (doc.kind) {
    case 'Ingress':
      into.ingresses.push(withNs());
      break;
    case 'IngressClass':
      into.ingressClasses.push(doc);
      break;
    case 'Service':
      into.services.push(withNs());
      break;
    case 'EndpointSlice':
      into.endpointSlices.push(withNs());
      break;
    case 'Secret':
      into.secrets.push(withNs());
      break;
    case 'ConfigMap':
      // Only portico.dev/auth-jwt-jwks-configmap reads them (the JWT keys).
      (into.configMaps ??= []).push(withNs());
      break;
    default:
      break;
  }
}

export function parseManifest(file: string, text: string): unknown[] {
  if (file.endsWith('.json')) {
    try {
      return [JSON.parse(text)];
    } catch (err) {
      throw new ManifestError(file, `invalid JSON: ${(err as Error).message}`);
    }
  }
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new ManifestError(file, 'invalid YAML');
  return docs.map((d) => {
    if (d.errors.length > 0) throw new ManifestError(file, `invalid YAML: ${d.errors[0]!.message.split('\n')[0]}`);
    return d.toJSON() as unknown;
  });
}

/** Reads every manifest file directly in `dir` (not subdirectories; hidden files skipped). */
export async function readManifests(dir: string): Promise<ClusterObjects> {
  const names = (await readdir(dir)).filter((n) => MANIFEST.test(n) && !n.startsWith('.')).sort();
  const out = emptyObjects();
  for (const name of names) {
    const path = join(dir, name);
    const st = await stat(path);
    if (!st.isFile()) continue;
    if (st.size > MAX_MANIFEST_BYTES) throw new ManifestError(path, `larger than ${MAX_MANIFEST_BYTES} bytes`);
    for (const doc of parseManifest(path, await readFile(path, 'utf8'))) addObject(out, doc);
  }
  return out;
}
