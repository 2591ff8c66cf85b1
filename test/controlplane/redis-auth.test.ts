// Redis as the Helm chart's external mode reaches it: rediss:// with a private CA and a
// password, both handed over the way Secrets are (environment and a mounted file), never on the command
// line. A real redis-server with TLS and requirepass; agent and worker as real processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { ingress, ourClass, service } from '../support/manifests.ts';
import { freePort, runPortico, spawnPortico, startServing, waitFor, type Spawned } from '../support/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-redis-auth-'));
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
let port: number;
let server: ChildProcess;
let backend: Backend;
const procs: Spawned[] = [];

function openssl(...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

beforeAll(async () => {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=redis-test-ca',
  );
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'redis.key',
    '-out',
    'redis.csr',
    '-subj',
    '/CN=redis',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'redis.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'redis.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  // A second CA that did not sign the server certificate.
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'other.key',
    '-out',
    'other.crt',
    '-days',
    '1',
    '-subj',
    '/CN=other-ca',
  );
  port = await freePort();
  server = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      join(dir, 'redis.crt'),
      '--tls-key-file',
      join(dir, 'redis.key'),
      '--tls-ca-cert-file',
      join(dir, 'ca.crt'),
      '--tls-auth-clients',
      'no',
      '--requirepass',
      PASSWORD,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  backend = await startBackend('auth', '127.0.0.81');
  expect(runPortico(['keys', 'generate', '--out', join(dir, 'keys')]).status).toBe(0);
  mkdirSync(join(dir, 'manifests'));
  writeFileSync(
    join(dir, 'manifests', 'all.yaml'),
    [
      ourClass(),
      ...service('web', [{ address: backend.address, port: backend.port }]),
      ingress('app', { host: 'secure.test', paths: [{ path: '/', service: 'web' }] }),
    ]
      .map((o) => stringify(o))
      .join('---\n'),
  );
}, 30_000);

afterAll(async () => {
  for (const p of procs) await p.stop();
  server?.kill('SIGTERM');
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

const url = () => `rediss://127.0.0.1:${port}`;
const env = (ca: string, password = PASSWORD) => ({
  PORTICO_REDIS_URL: url(),
  PORTICO_REDIS_PASSWORD: password,
  PORTICO_REDIS_CA: join(dir, ca),
});

describe('rediss:// with a private CA and a password from the environment', () => {
  it('the agent publishes and the worker serves, with nothing secret on either command line', async () => {
    const agent = spawnPortico(
      ['sync', '--manifests', join(dir, 'manifests'), '--cluster', 'tls', '--keys', join(dir, 'keys')],
      env('ca.crt'),
    );
    procs.push(agent);
    const worker = await startServing(
      ['worker', '--cluster', 'tls', '--keys', join(dir, 'keys'), '--cache-file', 'off'],
      30_000,
      env('ca.crt'),
    );
    procs.push(worker);
    const r = await request(`${worker.http}/`, { headers: { host: 'secure.test' } });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).backend).toBe('auth');
    // Both processes were handed the password and both talk to Redis: neither may log it.
    expect(agent.logs()).not.toContain(PASSWORD);
    expect(worker.logs()).not.toContain(PASSWORD);
  }, 40_000);

  it.each([
    // (env is built inside the test: the server's port is known only after beforeAll)
    ['a CA that did not sign the server certificate', () => env('other.crt'), /certificate/i],
    // A password no log line could contain by chance, so the leak check below means something.
    ['a wrong password', () => env('ca.crt', `wrong-${Math.random().toString(36).slice(2)}`), /WRONGPASS|invalid username-password/i],
  ])(
    '%s: the worker stays unready and says why, without the password',
    async (_n, makeEnv, why) => {
      const e = makeEnv();
      const [admin] = [await freePort()];
      const w = spawnPortico(
        [
          'worker',
          '--cluster',
          'tls',
          '--keys',
          join(dir, 'keys'),
          '--cache-file',
          'off',
          '--http',
          'off',
          '--https',
          'off',
          '--admin',
          `127.0.0.1:${admin}`,
        ],
        e,
      );
      procs.push(w);
      await waitFor(
        async () => why.test((await request(`http://127.0.0.1:${admin}/readyz`)).body),
        20_000,
        () => `readyz naming the cause:\n${w.logs()}`,
      );
      expect((await request(`http://127.0.0.1:${admin}/readyz`)).status).toBe(503);
      expect(w.logs()).not.toContain(e.PORTICO_REDIS_PASSWORD);
    },
    30_000,
  );

  it('--redis-ca with a plain redis:// URL is a usage error', () => {
    const r = runPortico([
      'worker',
      '--redis',
      'redis://127.0.0.1:1',
      '--redis-ca',
      join(dir, 'ca.crt'),
      '--cluster',
      'x',
      '--keys',
      '/tmp',
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/--redis-ca: only meaningful with a rediss:\/\/ URL$/);
  });

  it('an unreadable --redis-ca file is a usage error', () => {
    const r = runPortico(['worker', '--redis', url(), '--redis-ca', join(dir, 'missing.crt'), '--cluster', 'x', '--keys', '/tmp']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/--redis-ca: cannot read .*missing\.crt: ENOENT/);
  });
});
