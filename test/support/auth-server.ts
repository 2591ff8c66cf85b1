// A real auth service on loopback for external-auth tests, answering the way the services in ingress-nginx's
// e2e tests do (httpbun's /basic-auth/<user>/<password>, the cookie-setting nginx of auth.go) and the way
// oauth2-proxy's /oauth2/auth does (202 with X-Auth-Request-* headers for a session cookie, 401 without):
//   /basic-auth/<user>/<password>  200 when the Authorization header carries them, else 401 + WWW-Authenticate
//   /cookies/set/<name>/<value>    200 with Set-Cookie: name=value
//   /oauth2/auth                   202 + X-Auth-Request-User/-Email when Cookie has session=<user>, else 401
//   /status/<code>                 that status
//   /response-headers?name=value   200 with each query parameter as a response header (httpbun's, as grpc.go uses it)
//   /slow                          never answers (a timeout)
// Every request is recorded (method, URL, headers, body length) for the tests to inspect.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AuthHit {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
}

export interface AuthServer {
  url: string;
  hits: AuthHit[];
  /** Answers every request with 500 from now on (the auth service "is deleted"); `heal()` undoes it. */
  break(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startAuthServer(address = '127.0.0.1'): Promise<AuthServer> {
  const hits: AuthHit[] = [];
  let broken = false;
  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    req.on('end', () => {
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes });
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (broken) return void res.writeHead(500).end('broken');
      let m = /^\/basic-auth\/([^/]+)\/([^/]+)$/.exec(path);
      if (m) {
        const expected = `Basic ${Buffer.from(`${m[1]}:${m[2]}`).toString('base64')}`;
        if (req.headers.authorization === expected)
          return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"authenticated":true}');
        return void res.writeHead(401, { 'www-authenticate': 'Basic realm="Fake Realm"' }).end();
      }
      m = /^\/cookies\/set\/([^/]+)\/([^/]+)$/.exec(path);
      if (m) return void res.writeHead(200, { 'set-cookie': `${m[1]}=${m[2]}` }).end('OK');
      if (path === '/oauth2/auth') {
        const session = /(?:^|;\s*)session=([a-z]+)/.exec(req.headers.cookie ?? '')?.[1];
        if (session === undefined) return void res.writeHead(401).end();
        return void res.writeHead(202, { 'x-auth-request-user': session, 'x-auth-request-email': `${session}@example.com` }).end();
      }
      m = /^\/status\/(\d{3})$/.exec(path);
      if (m) return void res.writeHead(Number(m[1])).end();
      if (path === '/slow') return; // never answers
      if (path === '/response-headers') {
        const headers: Record<string, string> = {};
        for (const [k, v] of new URL(req.url ?? '/', 'http://x').searchParams) headers[k] = v;
        return void res.writeHead(200, headers).end();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    hits,
    break: () => void (broken = true),
    heal: () => void (broken = false),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
