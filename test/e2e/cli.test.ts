// `portico local` as users run it: a real process, manifests in a directory, admin endpoints, reloads
// on file changes, bad input, several worker processes.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { ingress, ourClass, service } from '../support/manifests.ts';
import { ROOT, runPortico, startLocal, waitFor, type Running } from '../support/process.ts';
import { proxyV1, startProxyLb } from '../support/proxy-protocol.ts';

let a: Backend;
let b: Backend;
const dirs: string[] = [];

const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'portico-cli-'));
  dirs.push(d);
  return d;
};
const yamlDocs = (...objs: unknown[]): string => objs.map((o) => stringify(o)).join('---\n');
/** A directory with our class, services `a` and `b`, and an Ingress for app.test → `a`. */
function appDir(): string {
  const d = tempDir();
  writeFileSync(join(d, 'class.yaml'), yamlDocs(ourClass()));
  writeFileSync(
    join(d, 'services.yaml'),
    yamlDocs(...service('a', [{ address: a.address, port: a.port }]), ...service('b', [{ address: b.address, port: b.port }])),
  );
  writeFileSync(join(d, 'ingress.json'), JSON.stringify(ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'a' }] })));
  return d;
}

type Run = (args: string[]) => { status: number | null; stdout: string; stderr: string };
/** `label` ends the test's name: who runs it, or why it is skipped (then `skip` is set). */
interface Runner {
  run: Run;
  label: string;
  skip: boolean;
}

/** How to run portico as someone a mode-000 directory keeps out. Root reads every directory, so as root
 * the child runs as `nobody` (65534), which can still read the repository and node_modules, with a
 * writable HOME and TMPDIR of its own for tsx's cache. */
function unreadableDirRunner(): Runner {
  const skipped = (why: string): Runner => ({
    run: () => {
      throw new Error(why);
    },
    label: ` (skipped: ${why})`,
    skip: true,
  });
  const uid = process.getuid?.();
  if (uid === undefined) return skipped('no POSIX user ids on this platform');
  if (uid !== 0) return { run: (args) => runPortico(args), label: '', skip: false };
  const NOBODY = 65534;
  const home = tempDir();
  chownSync(home, NOBODY, NOBODY);
  const child = (argv: string[]) =>
    spawnSync(process.execPath, argv, {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
      uid: NOBODY,
      gid: NOBODY,
      env: { ...process.env, HOME: home, TMPDIR: home },
    });
  // The same checks the real run needs, as that uid: it can start node and read the entry point and tsx.
  const needed = [join(ROOT, 'cli', 'portico.ts'), join(ROOT, 'node_modules', 'tsx', 'package.json')];
  const probe = child([
    '-e',
    `for (const f of ${JSON.stringify(needed)}) require('node:fs').accessSync(f, require('node:fs').constants.R_OK)`,
  ]);
  if (probe.error !== undefined || probe.status !== 0) {
    return skipped(
      `running as root, and uid ${NOBODY} cannot run node on the repository: ${probe.error?.message ?? probe.stderr.trim().split('\n')[0]}`,
    );
  }
  return {
    run: (args) => child(['--import', 'tsx', 'cli/portico.ts', ...args]),
    label: ` (as uid ${NOBODY}: root reads every directory)`,
    skip: false,
  };
}
const unreadable = unreadableDirRunner();

beforeAll(async () => {
  a = await startBackend('a', '127.0.0.50');
  b = await startBackend('b', '127.0.0.51');
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('bad input: one clear line and exit code 2', () => {
  it.each([
    ['an unknown flag', ['local', '--manifests', '.', '--bogus'], /Unknown option '--bogus'/],
    ['a malformed address', ['local', '--manifests', '.', '--http', 'nonsense'], /--http: expected HOST:PORT/],
    ['a port out of range', ['local', '--manifests', '.', '--admin', '127.0.0.1:70000'], /--admin: expected HOST:PORT/],
    ['zero workers', ['local', '--manifests', '.', '--workers', '0'], /--workers: expected a whole number from 1 to 64/],
    ['a bad duration', ['local', '--manifests', '.', '--read-timeout', 'soon'], /--read-timeout: expected a duration/],
    [
      'no HTTP/2 streams',
      ['local', '--manifests', '.', '--http2-max-concurrent-streams', '0'],
      /--http2-max-concurrent-streams: expected a whole number/,
    ],
    [
      'a bad queue timeout',
      ['local', '--manifests', '.', '--upstream-queue-timeout', 'soon'],
      /--upstream-queue-timeout: expected a duration/,
    ],
    [
      'a bad client body timeout',
      ['local', '--manifests', '.', '--client-body-timeout', '1 minute'],
      /--client-body-timeout: expected a duration/,
    ],
    [
      'a zero client header timeout',
      ['local', '--manifests', '.', '--client-header-timeout', '0s'],
      /--client-header-timeout: must be between 1ms and 1h/,
    ],
    [
      'a bad keep-alive timeout',
      ['local', '--manifests', '.', '--keepalive-timeout', 'forever'],
      /--keepalive-timeout: expected a duration/,
    ],
    [
      'a client body buffer size with a unit nginx lacks',
      ['local', '--manifests', '.', '--client-body-buffer-size', '1g'],
      /--client-body-buffer-size: expected a size like 16k/,
    ],
    [
      'a client body buffer size over 16m',
      ['local', '--manifests', '.', '--client-body-buffer-size', '17m'],
      /--client-body-buffer-size: must be at most 16777216 bytes/,
    ],
    [
      'an allowed response header that is not a header name',
      ['local', '--manifests', '.', '--global-allowed-response-headers', 'X-Frame-Options,X Bad'],
      /--global-allowed-response-headers: "X Bad" is not a header name/,
    ],
    [
      'a trusted proxy that is not a range',
      ['local', '--manifests', '.', '--trusted-proxies', '10.0.0.0/8,lb'],
      /--trusted-proxies: "lb" is not a CIDR or an IP address/,
    ],
    [
      'a forwarded-for header without trusted proxies',
      ['local', '--manifests', '.', '--forwarded-for-header', 'X-Real-Client'],
      /need --trusted-proxies/,
    ],
    [
      'the PROXY protocol without trusted proxies',
      ['local', '--manifests', '.', '--proxy-protocol'],
      /--proxy-protocol needs --trusted-proxies/,
    ],
    [
      'a controller ConfigMap that is not NAMESPACE/NAME',
      ['local', '--manifests', '.', '--nginx-configmap', 'ingress-nginx-controller'],
      /--nginx-configmap: "ingress-nginx-controller" is not NAMESPACE\/NAME/,
    ],
    [
      'a default backend Service with a bad name',
      ['local', '--manifests', '.', '--default-backend-service', 'ns/Bad_Name'],
      /--default-backend-service: "ns\/Bad_Name" is not NAMESPACE\/NAME/,
    ],
    [
      'a field count that is not a number',
      ['local', '--manifests', '.', '--max-request-headers', 'lots'],
      /--max-request-headers: expected a whole number from 1 to 10000, got "lots"/,
    ],
    [
      'a field line size without a size',
      ['local', '--manifests', '.', '--max-request-header-line', '8 kilobytes'],
      /--max-request-header-line: expected a size like 8k, 32k or 1m, got "8 kilobytes"/,
    ],
    [
      'a head size out of range',
      ['local', '--manifests', '.', '--max-request-head', '2m'],
      /--max-request-head: must be between 1024 bytes and 1024k/,
    ],
    [
      'a field line larger than the head',
      ['local', '--manifests', '.', '--max-request-header-line', '64k'],
      /--max-request-header-line \(65536 bytes\) cannot be larger than --max-request-head \(32768 bytes\)/,
    ],
    ['no manifests flag', ['local'], /--manifests DIR is required/],
    ['a missing directory', ['local', '--manifests', '/nonexistent/portico'], /cannot read directory \/nonexistent\/portico: ENOENT/],
    ['a file instead of a directory', ['local', '--manifests', 'package.json'], /is not a directory/],
    ['an unknown command', ['serve'], /unknown command "serve"/],
  ])('%s', (_name, args, message) => {
    const r = runPortico(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.skipIf(unreadable.skip)(`an unreadable directory${unreadable.label}`, () => {
    const d = tempDir();
    chmodSync(d, 0o000);
    const r = unreadable.run(['local', '--manifests', d]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/cannot read directory .*EACCES/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a port already in use', async () => {
    const p = await startLocal(appDir());
    try {
      const r = runPortico(['local', '--manifests', appDir(), '--http', p.http.replace('http://', ''), '--https', 'off', '--admin', 'off']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/cannot listen: .*EADDRINUSE/);
    } finally {
      await p.stop();
    }
  });
});

describe('portico local', () => {
  let p: Running;
  let dir: string;
  beforeAll(async () => {
    dir = appDir();
    p = await startLocal(dir);
  });
  afterAll(async () => {
    expect(await p.stop()).toBe(0); // graceful shutdown on SIGTERM
  });

  it('serves the manifests and the admin endpoints', async () => {
    const r = await request(`${p.http}/x`, { host: 'app.test' });
    expect(json<EchoReply>(r).backend).toBe('a');
    expect((await request(`${p.http}/`, { host: 'other.test' })).status).toBe(404);
    expect((await request(`${p.admin}/healthz`)).status).toBe(200);
    const ready = await request(`${p.admin}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatch(/serving sha256:[0-9a-f]{64}/);
    const m = (await request(`${p.admin}/metrics`)).body;
    expect(m).toMatch(/^portico_requests_total\{route="default\/app app\.test \/",status="200"\} [1-9]/m);
    expect(m).toMatch(/^portico_requests_total\{route="",status="404"\} [1-9]/m);
    expect(m).toMatch(/^portico_upstream_latency_seconds_count\{backend="default\/a:80"\} [1-9]/m);
    expect(m).toMatch(/^portico_table_info\{version="sha256:[0-9a-f]{64}"\} 1$/m);
  });

  it('applies a changed file without a restart', async () => {
    writeFileSync(
      join(dir, 'ingress.json'),
      JSON.stringify(
        ingress('app', {
          host: 'app.test',
          paths: [
            { path: '/', service: 'a' },
            { path: '/b', service: 'b' },
          ],
        }),
      ),
    );
    await waitFor(
      async () => json<EchoReply>(await request(`${p.http}/b/1`, { host: 'app.test' })).backend === 'b',
      10_000,
      () => 'the new route',
    );
    expect(json<EchoReply>(await request(`${p.http}/`, { host: 'app.test' })).backend).toBe('a');
  });

  it('keeps the last good table when a file does not parse, and says why', async () => {
    const before = (await request(`${p.admin}/readyz`)).body;
    writeFileSync(join(dir, 'broken.yaml'), 'kind: Ingress\nmetadata: [unclosed\n');
    await waitFor(
      () => p.logs().includes('broken.yaml: invalid YAML'),
      10_000,
      () => 'the parse error in the log',
    );
    expect(json<EchoReply>(await request(`${p.http}/b`, { host: 'app.test' })).backend).toBe('b');
    expect((await request(`${p.admin}/readyz`)).body).toBe(before);
    expect((await request(`${p.admin}/metrics`)).body).toMatch(/^portico_table_refusals_total [1-9]/m);
    rmSync(join(dir, 'broken.yaml'));
  });

  it('logs diagnostics of broken objects and keeps the other routes', async () => {
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify(ingress('bad', { host: 'bad.test', paths: [{ path: '/', service: 'missing-svc' }] })),
    );
    await waitFor(
      () => /ServiceNotFound/.test(p.logs()),
      10_000,
      () => 'a ServiceNotFound diagnostic',
    );
    expect(json<EchoReply>(await request(`${p.http}/`, { host: 'app.test' })).backend).toBe('a');
    expect((await request(`${p.http}/`, { host: 'bad.test' })).status).toBe(503);
  });
});

describe('portico local --global-allowed-response-headers', () => {
  it('reads the custom-headers ConfigMap from the directory and sets the headers the flag allows', async () => {
    const d = appDir();
    const headers = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: 'default', name: 'headers' },
      data: { 'X-Frame-Options': 'DENY' },
    };
    writeFileSync(join(d, 'headers.yaml'), yamlDocs(headers));
    const annotations = { 'nginx.ingress.kubernetes.io/custom-headers': 'headers' };
    writeFileSync(
      join(d, 'ingress.json'),
      JSON.stringify(ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'a' }], annotations })),
    );
    const p = await startLocal(d, ['--workers', '2', '--global-allowed-response-headers', 'X-Frame-Options, Content-Security-Policy']);
    try {
      const r = await request(`${p.http}/`, { host: 'app.test' });
      expect(r.status).toBe(200);
      expect(r.headers['x-frame-options']).toBe('DENY');
    } finally {
      expect(await p.stop()).toBe(0);
    }
  });
});

describe('portico local --workers 2', () => {
  it('serves the same ports from two worker processes and sums their metrics', async () => {
    const p = await startLocal(appDir(), ['--workers', '2']);
    try {
      expect((await request(`${p.admin}/readyz`)).body).toMatch(/in 2 worker processes/);
      const replies = await Promise.all(Array.from({ length: 40 }, () => request(`${p.http}/`, { host: 'app.test' })));
      expect(replies.every((r) => r.status === 200)).toBe(true);
      const m = (await request(`${p.admin}/metrics`)).body;
      expect(m).toMatch(/^portico_worker_processes 2$/m);
      expect(m).toMatch(/^portico_requests_total\{route="default\/app app\.test \/",status="200"\} 40$/m);
    } finally {
      expect(await p.stop()).toBe(0);
    }
  });
});

describe('portico local --proxy-protocol', () => {
  it.each([1, 2])(
    'with %i worker process(es): the client a trusted load balancer names reaches the backend; a connection without a header is closed',
    async (workers) => {
      const p = await startLocal(appDir(), ['--workers', String(workers), '--trusted-proxies', '127.0.0.1', '--proxy-protocol']);
      const lb = await startProxyLb({
        target: Number(new URL(p.http).port),
        localAddress: '127.0.0.1',
        header: proxyV1({ source: { address: '203.0.113.5', port: 40000 }, destination: { address: '192.0.2.10', port: 80 } }),
      });
      try {
        const r = await request(`http://127.0.0.1:${lb.port}/`, { host: 'app.test' });
        expect(r.status).toBe(200);
        expect(json<EchoReply>(r).headers['x-forwarded-for']).toBe('203.0.113.5');
        await expect(request(`${p.http}/`, { host: 'app.test' })).rejects.toThrow(/socket hang up|ECONNRESET/);
      } finally {
        await lb.close();
        expect(await p.stop()).toBe(0);
      }
    },
  );
});

describe('the Deno worker', () => {
  it('refuses --proxy-protocol with one line and exit code 2', () => {
    const r = spawnSync(
      join(ROOT, 'node_modules/.bin/deno'),
      ['run', '--cached-only', '--allow-env', 'cli/deno-worker.ts', '--proxy-protocol'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--proxy-protocol is not supported on Deno/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
