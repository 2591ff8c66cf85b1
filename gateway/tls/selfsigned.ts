// Self-signed (or CA-signed) X.509 v3 certificates built with node:crypto only,
// for the gateway's default certificate (clients with no SNI or an unknown name).
// Structure follows RFC 5280; DER rules follow X.690.
import { createHash, createPrivateKey, generateKeyPair, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

// ---- minimal DER encoder (X.690) ----
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  if (n < 0x80) return Buffer.concat([Buffer.from([tag, n]), content]);
  const len: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) len.unshift(v & 0xff);
  return Buffer.concat([Buffer.from([tag, 0x80 | len.length, ...len]), content]);
}
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const NULL = Buffer.from([0x05, 0x00]);
/** Context-specific tag [n]: constructed (explicit) or primitive (implicit). */
const ctx = (n: number, content: Buffer, constructed = true): Buffer => tlv((constructed ? 0xa0 : 0x80) | n, content);
/** BIT STRING; `unused` = number of padding bits in the last byte. */
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));

/** INTEGER from unsigned big-endian bytes: minimal form, 0x00 prefix if the high bit is set. */
function uint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, (v[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const enc = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) enc.unshift(0x80 | (v & 0x7f));
    out.push(...enc);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always Zulu, whole seconds. */
function time(d: Date): Buffer {
  const s = `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`; // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2))) : tlv(0x18, Buffer.from(s));
}

// ---- minimal DER reader, only to lift fields out of an issuer certificate ----
interface Tlv {
  tag: number;
  start: number;
  body: number;
  end: number;
}
function read(der: Buffer, off: number): Tlv {
  const tag = der[off] ?? 0;
  let len = der[off + 1] ?? 0;
  let body = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[body + i] ?? 0);
    body += n;
  }
  return { tag, start: off, body, end: body + len };
}
function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let off = parent.body; off < parent.end; off = out[out.length - 1]!.end) out.push(read(der, off));
  return out;
}

const OID = {
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
};

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value. */
function keyId(spkiDer: Buffer): Buffer {
  const bitString = children(spkiDer, read(spkiDer, 0))[1];
  if (!bitString) throw new Error('malformed SubjectPublicKeyInfo');
  return createHash('sha1')
    .update(spkiDer.subarray(bitString.body + 1, bitString.end))
    .digest();
}

/** Raw subject Name and subjectKeyIdentifier (if any) of a DER certificate (§4.1). */
function issuerFields(certDer: Buffer): { subject: Buffer; keyId: Buffer | undefined } {
  const tbs = read(certDer, read(certDer, 0).body);
  const fields = children(certDer, tbs);
  const v = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version is optional
  const subj = fields[v + 4];
  if (!subj) throw new Error('issuer certificate: no subject');
  let skid: Buffer | undefined;
  const extsTag = fields.find((f) => f.tag === 0xa3);
  for (const ext of extsTag ? children(certDer, read(certDer, extsTag.body)) : []) {
    const [id, ...rest] = children(certDer, ext);
    if (id && certDer.subarray(id.start, id.end).equals(oid(OID.subjectKeyIdentifier))) {
      const value = read(certDer, rest[rest.length - 1]!.body); // OCTET STRING inside extnValue
      skid = certDer.subarray(value.body, value.end);
    }
  }
  return { subject: certDer.subarray(subj.start, subj.end), keyId: skid };
}

export interface SelfSignedOptions {
  commonName: string;
  /** subjectAltName DNS names; defaults to [commonName]. */
  dnsNames?: string[];
  keyType?: 'rsa' | 'ec';
  /** Validity in days from now (default 365); notBefore is backdated 1h for clock skew. */
  days?: number;
  /** Sign with this CA instead of self-signing. */
  issuer?: { certPem: string; keyPem: string };
  /** Mark as a CA (basicConstraints cA, keyCertSign). Honoured only when self-signed. */
  isCA?: boolean;
}

type KeyPair = { publicKey: KeyObject; privateKey: KeyObject };

export function generateSelfSignedCertificate(opts: SelfSignedOptions): { certPem: string; keyPem: string } {
  const pair =
    (opts.keyType ?? 'rsa') === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return certificateFor(pair, opts);
}

/** The same, with the key pair generated on libuv's thread pool: an RSA 2048 key takes 0.25 to 0.9 s of CPU on a
 * busy 2-core machine (bench/RESULTS.md, "Worker footprint"), which generateKeyPairSync spends on the event loop,
 * where a worker starting up is also connecting to Redis (the connect timer fired during it). */
export async function generateSelfSignedCertificateOffThread(opts: SelfSignedOptions): Promise<{ certPem: string; keyPem: string }> {
  const pair = await new Promise<KeyPair>((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) =>
      err ? reject(err) : resolve({ publicKey, privateKey });
    if ((opts.keyType ?? 'rsa') === 'rsa') generateKeyPair('rsa', { modulusLength: 2048 }, done);
    else generateKeyPair('ec', { namedCurve: 'P-256' }, done);
  });
  return certificateFor(pair, opts);
}

function certificateFor({ publicKey, privateKey }: KeyPair, opts: SelfSignedOptions): { certPem: string; keyPem: string } {
  const keyType = opts.keyType ?? 'rsa';
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const isCA = !opts.issuer && opts.isCA === true;

  const subject = seq(set(seq(oid(OID.commonName), utf8(opts.commonName)))); // §4.1.2.6
  const issuer = opts.issuer ? issuerFields(new X509Certificate(opts.issuer.certPem).raw) : undefined;
  const signer: KeyObject = opts.issuer ? createPrivateKey(opts.issuer.keyPem) : privateKey;
  const sigAlg =
    signer.asymmetricKeyType === 'rsa'
      ? seq(oid(OID.sha256WithRSA), NULL) // RFC 4055 §5: NULL params
      : signer.asymmetricKeyType === 'ec'
        ? seq(oid(OID.ecdsaWithSHA256)) // RFC 5758 §3.2: params absent
        : undefined;
  if (!sigAlg) throw new Error(`unsupported issuer key type: ${signer.asymmetricKeyType ?? 'unknown'}`);

  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // §4.1.2.2: positive, non-zero, <= 20 octets

  const now = Date.now();
  const notBefore = new Date(now - 3600_000);
  const notAfter = new Date(now + (opts.days ?? 365) * 86_400_000);

  // §4.2.1.3 keyUsage named bits: digitalSignature(0) keyEncipherment(2) keyCertSign(5)
  const ku = 0x80 | (keyType === 'rsa' ? 0x20 : 0) | (isCA ? 0x04 : 0);
  const unused = 31 - Math.clz32(ku & -ku); // DER: trailing zero bits are dropped
  const ext = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value)); // §4.1: Extension
  const akid = issuer ? issuer.keyId : keyId(spki);
  const extensions = [
    ext(OID.subjectAltName, false, seq(...(opts.dnsNames ?? [opts.commonName]).map((n) => ctx(2, Buffer.from(n, 'ascii'), false)))), // §4.2.1.6 dNSName [2]
    ext(OID.basicConstraints, isCA, seq(...(isCA ? [bool(true)] : []))), // §4.2.1.9; cA DEFAULT FALSE is omitted
    ext(OID.keyUsage, true, bits(Buffer.from([ku]), unused)),
    ext(OID.extKeyUsage, false, seq(oid(OID.serverAuth))), // §4.2.1.12
    ext(OID.subjectKeyIdentifier, false, octets(keyId(spki))), // §4.2.1.2
    ...(akid ? [ext(OID.authorityKeyIdentifier, false, seq(ctx(0, akid, false)))] : []), // §4.2.1.1
  ];

  const tbs = seq(
    // §4.1.2 TBSCertificate
    ctx(0, uint(Buffer.from([2]))), // version v3
    uint(serial),
    sigAlg,
    issuer ? issuer.subject : subject,
    seq(time(notBefore), time(notAfter)),
    subject,
    spki,
    ctx(3, seq(...extensions)),
  );
  const cert = seq(tbs, sigAlg, bits(sign('sha256', tbs, signer))); // §4.1.1
  const b64 = cert.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
