// A real gRPC server and client (@grpc/grpc-js) for the backend-protocol GRPC/GRPCS end-to-end tests. The
// service is defined without .proto files: every message is raw bytes (JSON where the test reads a structure),
// so the bytes the client sent are the bytes the server got. Methods, after grpcbin's (ingress-nginx's grpc.go
// talks to grpcbin) and the four call shapes of gRPC:
//   Echo     unary: replies with what it saw (body, request metadata, authority, deadline); trailing metadata
//            `x-trailer: done`; a body of `not-found` fails with NOT_FOUND and details instead
//   Blob     unary: replies with the request bytes reversed (large messages both ways)
//   Hang     unary: never answers; records whether the call was cancelled
//   Count    server streaming: request `{"n":N}`, N messages `0` .. `N-1`
//   Sum      client streaming: replies with `{"count":K,"joined":"..."}` once the client ends
//   Chat     bidirectional: each message echoed back as `echo:<message>` as it arrives
import * as grpc from '@grpc/grpc-js';

const bytes = {
  requestSerialize: (b: Buffer): Buffer => b,
  requestDeserialize: (b: Buffer): Buffer => b,
  responseSerialize: (b: Buffer): Buffer => b,
  responseDeserialize: (b: Buffer): Buffer => b,
};

const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/portico.test.Echo/${name}`,
  requestStream,
  responseStream,
  originalName: name,
  ...bytes,
});

export const ECHO_SERVICE = {
  Echo: method('Echo', false, false),
  Blob: method('Blob', false, false),
  Hang: method('Hang', false, false),
  Count: method('Count', false, true),
  Sum: method('Sum', true, false),
  Chat: method('Chat', true, true),
} satisfies grpc.ServiceDefinition;

/** What Echo replies: what the server saw of the call. */
export interface EchoSeen {
  body: string;
  metadata: Record<string, string>;
  authority: string;
  /** The call's deadline as the server got it (grpc-timeout), or null for none. */
  hasDeadline: boolean;
}

/** What the test reads back from a server. */
export interface GrpcServer {
  port: number;
  /** Hang calls so far, and how many of them the server saw cancelled. */
  hangs: { started: number; cancelled: number };
  /** Every call's method path, in arrival order. */
  calls: string[];
  close(): Promise<void>;
}

const MAX_MESSAGE = 16 * 1024 * 1024;
export const GRPC_OPTIONS = { 'grpc.max_receive_message_length': MAX_MESSAGE, 'grpc.max_send_message_length': MAX_MESSAGE };

export async function startGrpcServer(address: string, tls?: { certPem: string; keyPem: string }): Promise<GrpcServer> {
  const server = new grpc.Server(GRPC_OPTIONS);
  const hangs = { started: 0, cancelled: 0 };
  const calls: string[] = [];
  const seen = (call: grpc.ServerUnaryCall<Buffer, Buffer>): void => void calls.push(call.getPath());
  server.addService(ECHO_SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      seen(call);
      const body = call.request.toString();
      if (body === 'not-found') return done({ code: grpc.status.NOT_FOUND, details: 'no such thing: not-found' });
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = v.toString();
      const reply: EchoSeen = {
        body,
        metadata,
        authority: call.getHost(),
        hasDeadline: Number.isFinite(Number(call.getDeadline())),
      };
      const trailers = new grpc.Metadata();
      trailers.set('x-trailer', 'done');
      done(null, Buffer.from(JSON.stringify(reply)), trailers);
    },
    Blob: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      seen(call);
      done(null, Buffer.from(call.request).reverse());
    },
    Hang: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
      seen(call);
      hangs.started++;
      call.on('cancelled', () => hangs.cancelled++);
    },
    Count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      calls.push(call.getPath());
      const { n } = JSON.parse(call.request.toString()) as { n: number };
      for (let i = 0; i < n; i++) call.write(Buffer.from(String(i)));
      call.end();
    },
    Sum: (call: grpc.ServerReadableStream<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      calls.push(call.getPath());
      const got: string[] = [];
      call.on('data', (m: Buffer) => got.push(m.toString()));
      call.on('end', () => done(null, Buffer.from(JSON.stringify({ count: got.length, joined: got.join(',') }))));
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      calls.push(call.getPath());
      call.on('data', (m: Buffer) => call.write(Buffer.from(`echo:${m.toString()}`)));
      call.on('end', () => call.end());
    },
  });
  const creds =
    tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }]);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${address}:0`, creds, (err, p) => (err === null ? resolve(p) : reject(err))),
  );
  return {
    port,
    hangs,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

export const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
export type EchoClientInstance = InstanceType<typeof EchoClient>;

/** A client of the gateway's HTTPS listener (HTTP/2 by ALPN) for `host`: SNI and :authority are `host`, the
 * gateway's certificate is checked against `caPem` (the test's self-signed certificate). */
export function tlsClient(port: number, host: string, caPem: string): EchoClientInstance {
  return new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(caPem)), {
    ...GRPC_OPTIONS,
    'grpc.ssl_target_name_override': host,
    'grpc.default_authority': host,
  });
}

/** A cleartext client (HTTP/2 with prior knowledge, h2c) for `host`. */
export function plainClient(port: number, host: string): EchoClientInstance {
  return new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { ...GRPC_OPTIONS, 'grpc.default_authority': host });
}

/** The outcome of a unary call: the reply or the error status, and the trailing metadata either way. */
export interface UnaryOutcome {
  reply: Buffer | null;
  code: grpc.status;
  details: string;
  trailers: Record<string, string>;
}

export function unary(
  client: EchoClientInstance,
  name: 'Echo' | 'Blob' | 'Hang',
  body: Buffer,
  o: { metadata?: Record<string, string>; deadlineMs?: number; call?: (c: grpc.ClientUnaryCall) => void } = {},
): Promise<UnaryOutcome> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(o.metadata ?? {})) md.set(k, v);
  const options: grpc.CallOptions = o.deadlineMs === undefined ? {} : { deadline: Date.now() + o.deadlineMs };
  return new Promise((resolve) => {
    let reply: Buffer | null = null;
    let error: grpc.ServiceError | null = null;
    const fn = client[name] as (
      arg: Buffer,
      md: grpc.Metadata,
      options: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
    ) => grpc.ClientUnaryCall;
    const call = fn.call(client, body, md, options, (err, res) => {
      error = err;
      reply = res ?? null;
    });
    call.on('status', (s: grpc.StatusObject) => {
      // 'status' follows the callback: the outcome is whole once it arrives.
      setImmediate(() =>
        resolve({
          reply,
          code: error?.code ?? s.code,
          details: error?.details ?? s.details,
          trailers: Object.fromEntries(Object.entries(s.metadata.getMap()).map(([k, v]) => [k, v.toString()])),
        }),
      );
    });
    o.call?.(call);
  });
}
