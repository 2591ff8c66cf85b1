// Echo server run inside a test network namespace: answers with its label, the path and the Host it got.
import http from 'node:http';
const [address, port, label] = process.argv.slice(2);
http
  .createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ backend: label, url: req.url, host: req.headers.host, forwardedFor: req.headers['x-forwarded-for'] ?? null }));
  })
  .listen(Number(port), address, () => process.stdout.write('listening\n'));
