// The image as an operator runs it: built with podman/buildah from the Dockerfile (bases assembled from this
// machine's node binary by image-bases.sh, since no registry can be reached; the deps stage installs from the npm
// cache with the network off), started read-only as uid 65532, and serving the table an agent outside the
// container publishes into a real redis-server on loopback, in front of a real backend.
// Podman needs the runc runtime and a containers.conf without default ulimits on this kind of machine
// (/work/shared/reference/containers.md); .ci/run installs podman, buildah, runc and busybox-static.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { ingress, ourClass, service } from '../support/manifests.ts';
import { freePort, ROOT, runPortico, spawnPortico, waitFor, type Spawned } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';

const IMAGE = 'localhost/portico:test';
/** The bases are tagged by what they are made of (this node, the script), so a second run reuses them and podman's
 * layer cache with them: only the layers after a changed input are built again. */
const basesKey = createHash('sha256')
  .update(process.version)
  .update(readFileSync(join(ROOT, 'test/build/image-bases.sh')))
  .digest('hex')
  .slice(0, 12);
const BASE = `localhost/portico-base:${basesKey}`;
const DEPS_BASE = `localhost/portico-deps-base:${basesKey}`;
const dir = mkdtempSync(join(tmpdir(), 'portico-image-'));
const conf = join(dir, 'containers.conf');
writeFileSync(conf, '[containers]\ndefault_ulimits = []\n');

const podman = (args: string[], timeout = 120_000) => {
  const r = spawnSync('podman', ['--runtime', 'runc', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, CONTAINERS_CONF: conf },
  });
  if (r.status !== 0) throw new Error(`podman ${args[0]} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
};
/** Why the image cannot be built and run here, or null when it can. */
const unavailable = ((): string | null => {
  const r = spawnSync('podman', ['--runtime', 'runc', 'info'], { encoding: 'utf8', env: { ...process.env, CONTAINERS_CONF: conf } });
  if (r.error !== undefined) return 'podman is not installed (.ci/run installs podman, buildah and runc)';
  return r.status === 0 ? null : `podman cannot run here: ${r.stderr.trim().split('\n').at(-1)}`;
})();
if (unavailable !== null) console.warn(`image test skipped: ${unavailable}`);

const keys = join(dir, 'keys');
const manifests = join(dir, 'manifests');
const container = `portico-image-test-${process.pid}`;
let redis: RedisServer;
let backend: Backend;
let agent: Spawned;
let http = '';
let admin = '';

describe.skipIf(unavailable !== null)('the container image (podman, runc)', () => {
  beforeAll(async () => {
    const exists = (tag: string) =>
      spawnSync('podman', ['image', 'exists', tag], { env: { ...process.env, CONTAINERS_CONF: conf } }).status === 0;
    if (!exists(BASE) || !exists(DEPS_BASE)) {
      const bases = spawnSync(join(ROOT, 'test/build/image-bases.sh'), [BASE, DEPS_BASE], {
        encoding: 'utf8',
        env: { ...process.env, CONTAINERS_CONF: conf },
      });
      if (bases.status !== 0) throw new Error(`image-bases.sh failed: ${bases.stderr}`);
    }
    // --network none: the deps stage must install from the npm cache alone (an overlay, so the build cannot
    // change the host's cache).
    podman([
      'build',
      '--network',
      'none',
      '--volume',
      `${join(homedir(), '.npm')}:/root/.npm:O`,
      '--build-arg',
      `BASE=${BASE}`,
      '--build-arg',
      `DEPS_BASE=${DEPS_BASE}`,
      '-t',
      IMAGE,
      '.',
    ]);

    redis = await startRedis();
    backend = await startBackend('in-image', '127.0.0.1');
    expect(runPortico(['keys', 'generate', '--out', keys]).status).toBe(0);
    chmodSync(keys, 0o755);
    for (const f of ['signing-pub.jwk.json', 'encryption-key.jwk.json']) chmodSync(join(keys, f), 0o644); // uid 65532 reads them
    mkdirSync(manifests);
    writeFileSync(
      join(manifests, 'all.yaml'),
      [
        ourClass(),
        ...service('web', [{ address: backend.address, port: backend.port }]),
        ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'web' }] }),
      ]
        .map((o) => stringify(o))
        .join('---\n'),
    );
    agent = spawnPortico(['sync', '--manifests', manifests, '--redis', redis.url, '--cluster', 'img', '--keys', keys]);

    const [h, a] = [await freePort(), await freePort()];
    http = `http://127.0.0.1:${h}`;
    admin = `http://127.0.0.1:${a}`;
    podman([
      'run',
      '-d',
      '--name',
      container,
      '--read-only',
      '--network',
      'host',
      '--volume',
      `${keys}:/etc/portico/keys:ro`,
      IMAGE,
      'worker',
      '--redis',
      redis.url,
      '--cluster',
      'img',
      '--keys',
      '/etc/portico/keys',
      '--http',
      `127.0.0.1:${h}`,
      '--https',
      'off',
      '--admin',
      `127.0.0.1:${a}`,
      '--drain-delay',
      '0ms',
    ]);
    await waitFor(
      async () => (await fetch(`${admin}/readyz`)).status === 200,
      30_000,
      () => `the worker in the image to be ready:\n${spawnSync('podman', ['logs', container], { encoding: 'utf8' }).stderr}`,
    );
  }, 150_000);

  afterAll(async () => {
    spawnSync('podman', ['rm', '-f', '-t', '2', container], { env: { ...process.env, CONTAINERS_CONF: conf } });
    await agent?.stop();
    await redis?.stop();
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the worker in the image serves the table the agent outside published, in front of a real backend', async () => {
    const r = await request(`${http}/hello`, { host: 'app.test' });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r)).toMatchObject({ backend: 'in-image', url: '/hello' });
  });

  it('runs as uid 65532 on a read-only root filesystem', () => {
    const pid = Number(podman(['inspect', '-f', '{{.State.Pid}}', container]));
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    expect(uid).toBe('65532');
    expect(podman(['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', container])).toBe('true');
  });

  it('runs the compiled build: no TypeScript sources, no tsx, esbuild or compiler in the image', () => {
    const pid = Number(podman(['inspect', '-f', '{{.State.Pid}}', container]));
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)).toEqual(
      expect.arrayContaining(['/nodejs/bin/node', '/app/dist/cli/portico.js', 'worker']),
    );
    const listing = podman([
      'run',
      '--rm',
      '--read-only',
      '--entrypoint',
      '/nodejs/bin/node',
      IMAGE,
      '-e',
      "const fs=require('fs');console.log(JSON.stringify([fs.readdirSync('/app/dist',{recursive:true}).filter(f=>f.endsWith('.ts')), ['typescript','tsx','esbuild'].filter(p=>fs.existsSync('/app/node_modules/'+p)), fs.existsSync('/app/cli')]))",
    ]);
    expect(JSON.parse(listing)).toEqual([[], [], false]);
    console.log(`image ${IMAGE}: ${podman(['image', 'inspect', '-f', '{{.Size}}', IMAGE])} bytes`);
  });
});
