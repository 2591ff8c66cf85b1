// `npm start`: the shipped example. Starts three small echo backends on loopback (the endpoints named in
// examples/quickstart/20-services.yaml), then `portico local` on that directory.
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { log } from './log.ts';
import { parseLocalFlags, runLocal } from './local.ts';

const dir = fileURLToPath(new URL('../examples/quickstart/', import.meta.url));
const echoes = [
  ['web-a', '127.0.0.1', 9101],
  ['web-b', '127.0.0.2', 9101],
  ['api', '127.0.0.1', 9102],
] as const;

for (const [name, host, port] of echoes) {
  http
    .createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        `${JSON.stringify({ backend: name, method: req.method, url: req.url, host: req.headers.host, forwardedFor: req.headers['x-forwarded-for'], requestId: req.headers['x-request-id'] })}\n`,
      );
    })
    .listen(port, host);
}

const cfg = parseLocalFlags(['--manifests', dir, ...process.argv.slice(2)]);
const handle = await runLocal(cfg);
const http1 = cfg.http ? `${cfg.http.host}:${cfg.http.port}` : null;
const https1 = cfg.https ? `${cfg.https.host}:${cfg.https.port}` : null;
log('info', 'example running', { manifests: dir });
process.stdout.write(`
Portico is serving examples/quickstart (edit the files there: changes apply without a restart).
Try:
${http1 ? `  curl -s http://${http1}/ -H 'Host: shop.localtest.me'                  # 308 to HTTPS (the host has TLS)\n` : ''}${
  https1
    ? `  curl -sk https://shop.localtest.me:${cfg.https!.port}/ --resolve shop.localtest.me:${cfg.https!.port}:${cfg.https!.host}       # web-a / web-b in turn
  curl -sk https://shop.localtest.me:${cfg.https!.port}/api/x --resolve shop.localtest.me:${cfg.https!.port}:${cfg.https!.host}  # api\n`
    : ''
}${
  http1
    ? `  curl -s http://${http1}/ -H 'Host: pr-42.preview.localtest.me'          # wildcard host, plain HTTP
  curl -s http://${http1}/ -H 'Host: nobody.example'                       # 404\n`
    : ''
}${cfg.admin ? `  curl -s http://${cfg.admin.host}:${cfg.admin.port}/metrics                               # Prometheus metrics\n` : ''}Stop with Ctrl-C.
`);
const stop = (): void => void handle.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
