// The dashboard in a real headless browser (Debian's Chromium driven by playwright-core): what an operator
// sees, with a screenshot left in test-artifacts/ for review.
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import type { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardApp } from '../../cli/dashboard.ts';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../../cli/keys.ts';
import { LiveTable } from '../../gateway/live.ts';
import { RedisTableSource } from '../../gateway/source/redis.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { compile } from '../../sync/compile/index.ts';
import { RedisPublisher } from '../../sync/publish/redis.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { freePort, ROOT, waitFor } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'portico-dash-'));
let server: RedisServer;
let redis: Redis;
let source: RedisTableSource;
let web: http.Server;
let url: string;
let browser: Browser;
const cert = generateSelfSignedCertificate({ commonName: 'shop.test', keyType: 'ec' });

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  await generateKeySet(join(dir, 'keys'));
  const result = compile(
    objects(
      ourClass(),
      service('web', [{ address: '10.0.0.1', port: 8080 }]),
      tlsSecret('shop-tls', cert.certPem, cert.keyPem),
      ingress('shop', {
        host: 'shop.test',
        paths: [
          { path: '/', service: 'web' },
          { path: '/<script>alert(1)</script>', pathType: 'ImplementationSpecific', service: 'web' },
        ],
        tls: [{ hosts: ['shop.test'], secretName: 'shop-tls' }],
      }),
    ),
  );
  await new RedisPublisher(redis, {
    cluster: 'dash',
    keys: await loadSigningKeys(join(dir, 'keys')),
    history: 10,
    publisher: 'agent-1',
  }).publish(result);
  const live = new LiveTable();
  source = new RedisTableSource({
    redis: server.url,
    cluster: 'dash',
    keys: await loadVerifyingKeys(join(dir, 'keys')),
    live,
    cacheFile: null,
    pollMs: 200,
    heartbeatMs: 500,
    node: 'edge-7',
    log: () => {},
  });
  await source.start();
  await waitFor(() => live.table !== null);
  const port = await freePort();
  web = http.createServer(
    getRequestListener(dashboardApp(redis, await loadVerifyingKeys(join(dir, 'keys'))).fetch, { overrideGlobalObjects: false }),
  );
  await new Promise<void>((r) => web.listen(port, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${port}/`;
});
afterAll(async () => {
  await browser?.close();
  web?.close();
  await source?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(CHROMIUM))(`dashboard in Chromium${existsSync(CHROMIUM) ? '' : ' (skipped: apt-get install chromium)'}`, () => {
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  it('shows the cluster, its version, fleet convergence, routes and certificates', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await waitFor(
      async () => {
        await page.goto(url);
        return (await page.locator('text=edge-7').count()) > 0;
      },
      5_000,
      () => 'the worker heartbeat on the page',
    );
    const text = await page.locator('body').innerText();
    expect(text).toContain('Cluster dash');
    expect(text).toMatch(/Serving sha256:[0-9a-f]{64} \(seq \d+\), published .* by agent-1; signature verified\./);
    expect(await page.locator('#cluster-dash .ok').innerText()).toBe('converged');
    expect(await page.locator('#cluster-dash table').nth(1).locator('tbody tr').count()).toBe(1); // the valid route
    expect(text).toMatch(/shop\.test\s+default\/shop-tls\s+CN=shop\.test/);
    // The invalid path comes back in a diagnostic's message: shown as text, never run as markup.
    expect(text).toMatch(/InvalidPath\s+.*\/<script>alert\(1\)<\/script>/);
    expect(await page.locator('script').count()).toBe(0);
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-artifacts', 'dashboard.png'), fullPage: true });
    await page.close();
  }, 90_000); // Chromium on a busy 2-core machine: the page itself is ready in ~2 s
});
