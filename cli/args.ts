// Flag parsing for the CLI: every bad flag becomes a UsageError (one line on stderr, exit code 2).
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.ts';
import type { ListenAddress } from '../gateway/runtime/node.ts';
import type { TunnelAddress } from '../gateway/table/tunnel-protocol.ts';
import { isValidClusterName } from '../gateway/table/redis-layout.ts';
import { CUSTOM_HEADER_NAME } from '../gateway/table/validate-custom-headers.ts';

export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
}

/** `HOST:PORT`, `[v6]:PORT`, or `off` (null). */
export function listenAddress(flag: string, value: string): ListenAddress | null {
  if (value === 'off') return null;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--${flag}: expected HOST:PORT (or "off"), got ${JSON.stringify(value)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function positiveInt(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max)
    throw new UsageError(`--${flag}: expected a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

/** `500ms`, `5s`, `2m`, or a bare number of milliseconds; at least `min` ms (1 unless a flag allows 0). */
export function duration(flag: string, value: string, min = 1): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(value);
  if (!m) throw new UsageError(`--${flag}: expected a duration like 500ms, 5s or 2m, got ${JSON.stringify(value)}`);
  const n = Number(m[1]);
  const ms = m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
  if (ms < min || ms > 3_600_000) throw new UsageError(`--${flag}: must be between ${min}ms and 1h, got ${JSON.stringify(value)}`);
  return ms;
}

/** `unix:PATH`, or a loopback `HOST:PORT`: the tunnel must never be reachable from another machine. */
export function tunnelAddress(flag: string, value: string): TunnelAddress {
  if (value.startsWith('unix:')) {
    const path = value.slice(5);
    if (!path.startsWith('/') || path.length > 100)
      throw new UsageError(`--${flag}: expected unix:/absolute/path (at most 100 characters), got ${JSON.stringify(value)}`);
    return { path };
  }
  const a = listenAddress(flag, value);
  if (a === null || !/^(?:127\.\d+\.\d+\.\d+|::1|localhost)$/.test(a.host))
    throw new UsageError(`--${flag}: expected unix:PATH or a loopback HOST:PORT, got ${JSON.stringify(value)}`);
  return a;
}

/** `CLUSTER=VALUE` with a DNS-label cluster name. */
export function clusterPair(flag: string, value: string): [string, string] {
  const i = value.indexOf('=');
  const name = value.slice(0, i);
  if (i < 1 || !isValidClusterName(name))
    throw new UsageError(`--${flag}: expected CLUSTER=VALUE with a DNS-label cluster name, got ${JSON.stringify(value)}`);
  return [name, value.slice(i + 1)];
}

/** `NAME,NAME,...` (spaces around names ignored; empty: none): header names as ingress-nginx's ConfigMap key
 * global-allowed-response-headers lists them. ingress-nginx skips a name that is not ValidHeader with a log line;
 * a flag is checked once at start, so here it is a usage error instead of a silently shorter list. */
export function headerNames(flag: string, value: string): string[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const bad = names.filter((n) => !CUSTOM_HEADER_NAME.test(n));
  if (bad.length > 0)
    throw new UsageError(
      `--${flag}: ${bad.map((b) => JSON.stringify(b)).join(', ')} is not a header name (letters, digits, "-" and "_", at most 64)`,
    );
  if (names.length > 256) throw new UsageError(`--${flag}: at most 256 names, got ${names.length}`);
  return [...new Set(names)];
}

/** A text file named by a flag (a certificate, a CA bundle): unreadable is a usage error. */
export function readText(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A `NAMESPACE/NAME` flag value (ingress-nginx's --default-backend-service, --default-ssl-certificate, --configmap):
 * both parts RFC 1123 names, as the apiserver accepts them. */
export function objectRefFlag(flag: string, value: string): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/.test(value))
    throw new UsageError(`--${flag}: ${JSON.stringify(value)} is not NAMESPACE/NAME`);
  return value;
}
