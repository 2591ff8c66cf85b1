// WebSocket (HTTP/1.1 Upgrade) proxying for the Node adapter. Node hands upgrade requests to the
// server's 'upgrade' listener instead of the request handler, so this path asks decide() exactly as the
// Hono path does, then lets undici open the upstream upgrade and splices the two sockets together.
// Every upgrade that is not forwarded gets a complete HTTP answer, never a hanging socket.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ListenerPorts } from '../app.ts';
import { type GateDeps, runGate } from '../access/gate.ts';
import { type Decision, decide, type RequestFacts } from '../decide.ts';
import { pickEndpoint } from '../affinity.ts';
import { classifyUpstreamError } from '../errors.ts';
import type { LiveTable } from '../live.ts';
import { headRefusal, type RequestHeadLimits } from '../runtime/node-request-head.ts';
import { rawAnswer } from './raw-answer.ts';
import type { NodeForwarderDeps } from './node-forwarder.ts';
import { nodeFacts } from './node-forwarder.ts';
import { downstreamResponseHeaders, requestIdFor, upstreamRequestHeaders, withOverrides } from './headers.ts';
import { retryDecision } from './retry-policy.ts';
import { upgradeHasBody } from '../runtime/node-plain-upgrade.ts';
import { ENDPOINT_HEADER, endpointKey, tunnelErrorOf } from '../table/tunnel-protocol.ts';
import type { AccessLogging } from '../runtime/node-request-hooks.ts';
import { UpgradeAccessRecord } from './upgrade-access-log.ts';

/** Answers the client's upgrade with the upstream's 101 (hop-by-hop headers filtered) and splices the two
 * connections together; either side closing closes the other. Shared with the node-local tunnel. */
function spliceUpgraded(
  socket: Duplex,
  head: Buffer,
  status: number,
  raw: readonly (Buffer | string)[] | null,
  upstream: Duplex,
  protocol: string,
): void {
  const lines = [`HTTP/1.1 ${status} Switching Protocols`];
  const h = downstreamResponseHeaders(raw ?? []);
  let dated = false;
  for (let i = 0; i < h.length; i += 2) {
    lines.push(`${h[i]}: ${h[i + 1]}`);
    if (h[i]!.toLowerCase() === 'date') dated = true;
  }
  // Every answer of the edge carries a Date (the ingress-controller conformance suite; nginx's header filter adds one).
  if (!dated) lines.push(`date: ${new Date().toUTCString()}`);
  lines.push(`upgrade: ${protocol}`, 'connection: Upgrade');
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length > 0) upstream.write(head);
  upstream.on('error', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
  upstream.pipe(socket);
  socket.pipe(upstream);
}

/** An upstream that answers an upgrade with anything but 101 (a WebSocket refused with 401, say): its status
 * and headers go to the client, its body follows, then the connection closes. */
class UpgradeRejection {
  constructor(
    private readonly socket: Duplex,
    status: number,
    raw: readonly (Buffer | string)[],
  ) {
    const h = downstreamResponseHeaders(raw);
    const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`];
    for (let i = 0; i < h.length; i += 2) lines.push(`${h[i]}: ${h[i + 1]}`);
    lines.push('connection: close');
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  data(chunk: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(chunk);
  }

  end(): void {
    this.socket.end();
  }
}

export interface UpgradeHooks {
  /** The upstream switched protocols; the two connections are spliced right after. */
  upgraded(status: number): void;
  /** The upstream answered without switching; that answer is passed on to the client unless `takeOver`
   * returns an error for it (the node-local tunnel's own report), which fails the attempt instead. */
  declined?(status: number): void;
  takeOver?(status: number, raw: readonly Buffer[]): Error | null;
  /** No usable answer: connect failed, reset, timed out, or taken over. */
  failed(err: Error): void;
}

/** The dispatch handler of one upstream upgrade attempt, shared by the gateway and the node-local tunnel. */
export class UpgradeAttempt implements Dispatcher.DispatchHandler {
  private abort: ((err?: Error) => void) | null = null;
  private rejection: UpgradeRejection | null = null;
  private takenOver = false;

  constructor(
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly protocol: string,
    private readonly hooks: UpgradeHooks,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.socket.destroyed) abort();
  }

  onHeaders(status: number, raw: Buffer[]): boolean {
    const err = this.hooks.takeOver?.(status, raw) ?? null;
    if (err !== null) {
      this.takenOver = true; // the abort's onError is ours, not news
      this.abort?.();
      this.hooks.failed(err);
      return false;
    }
    this.hooks.declined?.(status);
    this.rejection = new UpgradeRejection(this.socket, status, raw);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.rejection?.data(chunk);
    return true;
  }

  onComplete(): void {
    this.rejection?.end();
  }

  onUpgrade(status: number, raw: Buffer[] | string[] | null, upstream: Duplex): void {
    this.hooks.upgraded(status);
    spliceUpgraded(this.socket, this.head, status, raw, upstream, this.protocol);
  }

  onError(err: Error): void {
    if (this.takenOver) return;
    if (this.rejection !== null) return void this.socket.destroy(); // cut off mid-answer
    this.hooks.failed(err);
  }
}

export interface UpgradeOptions extends NodeForwarderDeps {
  live: LiveTable;
  scheme: 'http' | 'https';
  ports: ListenerPorts;
  /** What the access gate needs (gateway/access/gate.ts); a step whose dependency is missing answers 503. */
  gate?: GateDeps;
  /** The listener's request-head limits (runtime/node-request-head.ts): an upgrade is held to them as well. */
  headLimits?: RequestHeadLimits;
  /** Serves a request whose Upgrade is not WebSocket as the plain request it also is (runtime/node-plain-upgrade.ts);
   * absent: such a request is refused with 400. */
  plain?: (req: IncomingMessage, socket: Duplex) => void;
  /** `--access-log`: upgrades get their lines here too (upgrade-access-log.ts). */
  accessLog?: AccessLogging | null;
}

type Forward = Extract<Decision, { kind: 'forward' }>;

/** A Host field: a reg-name or an IP literal (RFC 3986 §3.2.2), and an optional port. */
const HOST_FIELD = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?$/;

/** What an upgrade request gets before routing: 'plain' (not a WebSocket: served as a plain request, when the
 * listener can and no body follows), a refusal, or 0 (go on). The same head checks as every request of the listener;
 * the path's own checks are decide()'s, as on the request path. */
function upgradeRefusal(req: IncomingMessage, o: UpgradeOptions): 'plain' | 0 | 400 | 431 {
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return o.plain !== undefined && !upgradeHasBody(req) ? 'plain' : 400;
  // RFC 6455 §4.1: the opening handshake is a GET; a POST's body would be lost in the switch.
  if (req.method !== 'GET') return 400;
  // The request path refuses a Host it cannot make a URL of (@hono/node-server); an upgrade is held to the same.
  if (!HOST_FIELD.test(req.headers.host ?? '')) return 400;
  return o.headLimits === undefined ? 0 : headRefusal(req.rawHeaders, o.headLimits);
}

export function createUpgradeHandler(o: UpgradeOptions): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const facts = nodeFacts(
      req,
      o.scheme,
      o.scheme === 'http' ? o.ports.http : (o.ports.https ?? 0),
      o.trust ?? null,
      o.proxyProtocol === true,
    );
    const refused = upgradeRefusal(req, o);
    if (refused === 'plain') return o.plain!(req, socket);
    const log = o.accessLog?.sampled() === true ? new UpgradeAccessRecord(o.accessLog.sink, req, socket) : null;
    log?.decided(facts);
    // Every answer is counted in the metrics and, when logged, in the access log line.
    const report = (route: string, status: number): void => {
      o.metrics.request(route, status);
      log?.answered(route, status);
    };
    if (refused !== 0) {
      report('', refused);
      return rawAnswer(socket, refused);
    }
    const d = decide(o.live, facts, o.ports.https);
    if (d.kind === 'redirect') {
      report(d.label, d.status);
      return rawAnswer(socket, d.status, [`location: ${d.location}`]);
    }
    if (d.kind === 'status') {
      report(d.label, d.status);
      return rawAnswer(socket, d.status);
    }
    if (d.upstreamTls !== undefined) {
      // proxy-ssl-*: upgrades dial in cleartext HTTP/1.1 (relay below); 503 rather than skip the TLS the route asks for.
      report(d.label, 503);
      return rawAnswer(socket, 503);
    }
    const requestId = requestIdFor(req.headers['x-request-id'] as string | undefined, randomUUID);
    if (log !== null) log.requestId = requestId;
    const plain = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, { ...facts, requestId });
    const headers = d.upstreamHeaders === undefined ? plain : withOverrides(plain, d.upstreamHeaders);
    if (d.gate === undefined) return relay(o, socket, head, d, facts, headers, report, log);
    // The access gate decides first, as for every request to this route.
    const asked = req.rawHeaders.flatMap((v, k, all) => (k % 2 === 0 ? [[v.toLowerCase(), all[k + 1]!] as [string, string]] : []));
    const header = (name: string): string | null => {
      const v = req.headers[name];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    };
    const request = {
      httpHost: facts.host,
      scheme: facts.scheme,
      method: 'GET',
      path: facts.path,
      search: facts.search,
      clientIp: facts.clientIp,
      localPort: facts.localPort,
      header,
      headers: asked,
      requestId,
      scope: d.label,
      ...(d.sourceGranted === undefined ? {} : { sourceGranted: d.sourceGranted }),
      credentials: o.live.current?.basicAuth,
    };
    void runGate(d.gate, request, o.gate ?? {}).then(
      (outcome) => {
        // An upgrade holds what the gate took for it (a limit-connections slot) until its connection closes,
        // whether it was spliced, refused or never answered.
        if (outcome.kind === 'pass' && outcome.onDone !== undefined) {
          if (socket.destroyed) outcome.onDone();
          else socket.once('close', outcome.onDone);
        }
        if (socket.destroyed) return;
        if (outcome.kind === 'respond') {
          report(d.label, outcome.status);
          return rawAnswer(
            socket,
            outcome.status,
            outcome.headers.map(([k, v]) => `${k}: ${v}`),
          );
        }
        relay(o, socket, head, d, facts, withOverrides(headers, outcome.upstreamHeaders), report, log);
      },
      (_err: unknown) => {
        // A gate that failed (a broken hash in a Secret, say) refuses: the upgrade never reaches the upstream, and the
        // socket is not left hanging. The request path answers 500 the same way (Hono's error handler).
        if (socket.destroyed) return;
        report(d.label, 500);
        rawAnswer(socket, 500);
      },
    );
  };
}

/** Offers the upgrade to the route's endpoints in turn, by the shared retry policy. */
function relay(
  o: UpgradeOptions,
  socket: Duplex,
  head: Buffer,
  d: Forward,
  facts: RequestFacts,
  headers: string[],
  report: (route: string, status: number) => void,
  log: UpgradeAccessRecord | null,
): void {
  const { backend } = d;
  // affinity / upstream-hash-by choose the endpoint (a cookie is honoured; none is set on the 101: README).
  const pick = d.upstream === undefined ? null : pickEndpoint(backend, d.upstream, facts, 'GET', Date.now());
  const first = pick === null ? o.balancer.start(backend) : pick.first;
  const attempt = (k: number): void => {
    const endpoint = backend.endpoints[(first + k) % backend.endpoints.length]!;
    const sent = o.pools.viaTunnel ? headers.concat(ENDPOINT_HEADER, endpointKey(endpoint)) : headers;
    if (log !== null) log.upstream = endpointKey(endpoint);
    const failed = (err: unknown): void => {
      const e = classifyUpstreamError(err, endpointKey(endpoint));
      // The same rule as every other request: an upgrade is a GET without a body, and `failed` only hears of
      // attempts that got no answer (one passed on to the client is cut off by UpgradeAttempt itself).
      // Upgrades serve local backends only: no peer cluster.
      const next = retryDecision({
        code: e.code,
        bodyStreamed: false,
        responseStarted: false,
        idempotent: true,
        attempts: k + 1,
        endpoints: backend.endpoints.length,
        peerAvailable: false,
      });
      o.metrics.upstreamError(backend.id, next.label);
      o.onUpstreamError?.(e);
      if (socket.destroyed) return;
      if (next.action === 'next-endpoint') return attempt(k + 1);
      const status = next.action === 'answer' ? next.status : 502;
      report(d.label, status);
      rawAnswer(socket, status);
    };
    o.pools.get(endpoint).dispatch(
      { path: d.target, method: 'GET', headers: sent, upgrade: 'websocket' },
      new UpgradeAttempt(socket, head, 'websocket', {
        upgraded: (status) => {
          log?.upstreamAnswered(status);
          report(d.label, status);
        },
        declined: (status) => {
          log?.upstreamAnswered(status);
          report(d.label, status);
        },
        // Through the tunnel a non-101 answer may be its own report (it could not dial): fail over.
        takeOver: (_status, raw) => (o.pools.viaTunnel ? tunnelErrorOf(raw) : null),
        failed,
      }),
    );
  };
  attempt(0);
}
