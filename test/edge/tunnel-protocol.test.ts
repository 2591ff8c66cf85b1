// The node-local tunnel's wire contract: the endpoint header is the only thing a caller controls, so it is
// parsed strictly (a literal address and port, written exactly as endpointKey writes them, never a name to
// resolve) and then must be an endpoint of the verified table; backend ids sent to a peer have the one form
// the table uses; and the tunnel's own error report is found in a response's raw headers.
import { describe, expect, it } from 'vitest';
import { allowedEndpoints, isBackendId, parseEndpoint, tunnelErrorOf, TunnelReportedError } from '../../gateway/table/tunnel-protocol.ts';
import { compile } from '../../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

interface EndpointCase {
  name: string;
  value: string | undefined;
  /** The address and port to dial, or null: refused (the tunnel answers 400). */
  want: { address: string; port: number } | null;
}

const ENDPOINTS: EndpointCase[] = [
  { name: 'IPv4 address:port', value: '10.0.0.1:8080', want: { address: '10.0.0.1', port: 8080 } },
  { name: 'IPv4 at the top of both ranges', value: '255.255.255.255:65535', want: { address: '255.255.255.255', port: 65535 } },
  { name: 'port 1, the lowest', value: '10.0.0.1:1', want: { address: '10.0.0.1', port: 1 } },
  { name: 'IPv6 in brackets', value: '[fd00:10:244::7]:8080', want: { address: 'fd00:10:244::7', port: 8080 } },
  { name: 'IPv6 loopback', value: '[::1]:80', want: { address: '::1', port: 80 } },
  { name: 'IPv4-mapped IPv6 (RFC 4291 2.5.5.2)', value: '[::ffff:10.0.0.1]:443', want: { address: '::ffff:10.0.0.1', port: 443 } },
  { name: 'no header', value: undefined, want: null },
  { name: 'empty', value: '', want: null },
  { name: 'no port', value: '10.0.0.1', want: null },
  { name: 'IPv6 without a port', value: '[::1]', want: null },
  { name: 'an empty port', value: '10.0.0.1:', want: null },
  { name: 'port 0', value: '10.0.0.1:0', want: null },
  { name: 'port 65536', value: '10.0.0.1:65536', want: null },
  { name: 'a six-digit port', value: '10.0.0.1:100000', want: null },
  { name: 'a signed port', value: '10.0.0.1:+80', want: null },
  // The pattern and the range check let these through; only the comparison with endpointKey's form refuses them.
  { name: 'IPv4, port with a leading zero: not the form endpointKey writes', value: '10.0.0.1:080', want: null },
  { name: 'IPv6, port with a leading zero: not the form endpointKey writes', value: '[::1]:080', want: null },
  { name: 'IPv6, port padded to five digits: not the form endpointKey writes', value: '[fd00::7]:00080', want: null },
  { name: 'an IPv4 octet over 255', value: '10.0.0.256:80', want: null },
  { name: 'three IPv4 octets (inet_aton would read 10.0.1 as 10.0.0.1)', value: '10.0.1:80', want: null },
  { name: 'an IPv4 octet with two leading zeros (read as octal by inet_aton)', value: '010.0.0.1:80', want: null },
  { name: 'a host name is never resolved', value: 'localhost:80', want: null },
  { name: 'a DNS name is never resolved', value: 'redis.kube-system.svc:6379', want: null },
  { name: 'IPv6 without brackets', value: 'fd00::1:80', want: null },
  { name: 'IPv4 in brackets: not the form endpointKey writes', value: '[10.0.0.1]:80', want: null },
  { name: 'brackets around something that is not hex', value: '[fd00::g]:80', want: null },
  { name: 'an IPv6 zone id (RFC 6874) names an interface of the tunnel host', value: '[fe80::1%25eth0]:80', want: null },
  { name: 'leading space', value: ' 10.0.0.1:80', want: null },
  { name: 'trailing newline', value: '10.0.0.1:80\n', want: null },
  { name: 'two endpoints', value: '10.0.0.1:80,10.0.0.2:80', want: null },
  { name: 'userinfo', value: 'user@10.0.0.1:80', want: null },
  // No address text is over 64 characters (the longest IPv6 text form is 45); this one passes the loose
  // IPv6 pattern, so only the length bound refuses it, before any pattern runs on a large header.
  { name: 'over 64 characters', value: `[${'0:'.repeat(28)}:1]:8080`, want: null },
];

describe('parseEndpoint(): the portico-endpoint header', () => {
  for (const c of ENDPOINTS) {
    it(c.name, () => {
      const got = parseEndpoint(c.value);
      expect(got === null ? null : { address: got.address, port: got.port }).toEqual(c.want);
      // The key is what the allow-list is checked with: the header exactly as sent.
      if (got !== null) expect(got.key).toBe(c.value);
    });
  }
});

/** A table whose backends have ready IPv4 and IPv6 endpoints, a not-ready one, and a Service no Ingress uses. */
function table() {
  const [v6svc, v6slice] = service('v6', [{ address: 'fd00::7', port: 8080 }]);
  v6slice.addressType = 'IPv6';
  return compile(
    objects(
      ourClass(),
      service('web', [
        { address: '10.0.0.1', port: 8080 },
        { address: '10.0.0.2', port: 8080 },
        { address: '10.0.0.9', port: 8080, ready: false },
      ]),
      v6svc,
      v6slice,
      service('unused', [{ address: '10.0.0.50', port: 8080 }]),
      ingress('shop', {
        host: 'shop.example.com',
        paths: [
          { path: '/', service: 'web' },
          { path: '/v6', service: 'v6' },
        ],
      }),
    ),
  ).table;
}

interface AllowCase {
  name: string;
  header: string;
  /** The tunnel dials it (the header parses and the table names that endpoint). */
  dialled: boolean;
}

const ALLOW: AllowCase[] = [
  { name: 'a ready IPv4 endpoint of a routed backend', header: '10.0.0.1:8080', dialled: true },
  { name: 'a ready IPv6 endpoint of a routed backend', header: '[fd00::7]:8080', dialled: true },
  { name: 'a not-ready endpoint', header: '10.0.0.9:8080', dialled: false },
  { name: 'an endpoint of a Service no Ingress routes to', header: '10.0.0.50:8080', dialled: false },
  { name: 'an allowed address on another port', header: '10.0.0.1:22', dialled: false },
  { name: 'the cloud metadata address', header: '169.254.169.254:80', dialled: false },
  // parseEndpoint does not rewrite IPv6 text into RFC 5952 form: these spellings parse, and it is the
  // allow-list, which holds the table's own spelling, that refuses them.
  { name: 'an allowed IPv6 endpoint written out in full', header: '[fd00:0:0:0:0:0:0:7]:8080', dialled: false },
  { name: 'an allowed IPv6 endpoint in upper case', header: '[FD00::7]:8080', dialled: false },
  { name: 'an allowed IPv4 endpoint as IPv4-mapped IPv6', header: '[::ffff:10.0.0.1]:8080', dialled: false },
];

describe('allowedEndpoints(): the only endpoints the tunnel dials', () => {
  const t = table();
  const allowed = allowedEndpoints(t);

  it('every ready endpoint of every backend in the table, nothing else', () => {
    expect([...allowed].sort()).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '[fd00::7]:8080']);
  });

  for (const c of ALLOW) {
    it(c.name, () => {
      const ep = parseEndpoint(c.header);
      expect(ep !== null && allowed.has(ep.key)).toBe(c.dialled);
    });
  }
});

interface BackendIdCase {
  name: string;
  value: string | undefined;
  ok: boolean;
}

const label = (n: number) => 'a'.repeat(n);

const BACKEND_IDS: BackendIdCase[] = [
  { name: 'namespace/service:port number', value: 'default/web:80', ok: true },
  { name: 'namespace/service:port name', value: 'kube-system/kube-dns:dns-tcp', ok: true },
  { name: 'dots and hyphens inside names', value: 'team-a.prod/api-v2:8080', ok: true },
  { name: 'a 63-character port name', value: `default/web:${label(63)}`, ok: true },
  { name: 'exactly 400 characters', value: `${label(198)}/${label(198)}:80`, ok: true },
  { name: 'no header', value: undefined, ok: false },
  { name: 'empty', value: '', ok: false },
  { name: 'no port', value: 'default/web', ok: false },
  { name: 'no namespace', value: 'web:80', ok: false },
  { name: 'upper case in a name (Kubernetes names are lower case, RFC 1123)', value: 'Default/web:80', ok: false },
  { name: 'a name starting with a hyphen', value: '-ns/web:80', ok: false },
  { name: 'a name ending with a dot', value: 'default/web.:80', ok: false },
  { name: 'a path segment', value: '../web:80', ok: false },
  { name: 'three segments', value: 'default/web/x:80', ok: false },
  { name: 'a 64-character port name', value: `default/web:${label(64)}`, ok: false },
  { name: 'two ids', value: 'default/web:80,default/api:80', ok: false },
  { name: 'a trailing newline (no multi-line matching)', value: 'default/web:80\n', ok: false },
  // The pattern alone would take 253-character names; the length bound keeps the header small.
  { name: '401 characters of otherwise valid names', value: `${label(199)}/${label(198)}:80`, ok: false },
];

describe('isBackendId(): the portico-backend header', () => {
  for (const c of BACKEND_IDS) {
    it(c.name, () => {
      expect(isBackendId(c.value)).toBe(c.ok);
    });
  }
});

interface ErrorCase {
  name: string;
  raw: (string | Buffer)[];
  /** The error code the tunnel reported, or null: an ordinary upstream response. */
  code: string | null;
}

const ERRORS: ErrorCase[] = [
  { name: 'an ordinary response', raw: ['content-type', 'text/plain', 'content-length', '2'], code: null },
  { name: 'no headers', raw: [], code: null },
  {
    name: 'the report, as a string list',
    raw: ['content-type', 'text/plain', 'portico-tunnel-error', 'ECONNREFUSED'],
    code: 'ECONNREFUSED',
  },
  {
    name: 'the report in any case (header names are case-insensitive, RFC 9110 5.1)',
    raw: ['Portico-Tunnel-Error', 'UND_ERR_CONNECT_TIMEOUT'],
    code: 'UND_ERR_CONNECT_TIMEOUT',
  },
  { name: 'the report as undici Buffers', raw: [Buffer.from('portico-tunnel-error'), Buffer.from('ECONNRESET')], code: 'ECONNRESET' },
  {
    name: 'the first report counts',
    raw: ['portico-tunnel-error', 'ECONNREFUSED', 'portico-tunnel-error', 'EHOSTUNREACH'],
    code: 'ECONNREFUSED',
  },
  { name: 'a long value is cut to 64 characters', raw: ['portico-tunnel-error', 'E'.repeat(500)], code: 'E'.repeat(64) },
  { name: 'the name as a header value is not a report', raw: ['x-note', 'portico-tunnel-error', 'x-other', 'ECONNREFUSED'], code: null },
  { name: 'a longer header name is not a report', raw: ['portico-tunnel-error-x', 'ECONNREFUSED'], code: null },
];

describe('tunnelErrorOf(): the tunnel reported an error instead of an upstream response', () => {
  for (const c of ERRORS) {
    it(c.name, () => {
      const e = tunnelErrorOf(c.raw);
      if (c.code === null) expect(e).toBeNull();
      else {
        expect(e).toBeInstanceOf(TunnelReportedError);
        expect(e?.code).toBe(c.code);
      }
    });
  }
});
