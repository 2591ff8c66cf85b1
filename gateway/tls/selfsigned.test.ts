import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate, generateSelfSignedCertificateOffThread } from './selfsigned.ts';

const OPENSSL = '/usr/bin/openssl';
const opensslText = (pem: string): string => execFileSync(OPENSSL, ['x509', '-noout', '-text'], { input: pem, encoding: 'utf8' });

/** Serve `key`/`cert` over HTTPS, connect with `ca` as the only trust root, return what the client saw. */
async function handshake(
  key: string,
  cert: string,
  ca: string,
  servername: string,
): Promise<{ authorized: boolean; error: Error | null; fingerprint256: string; body: string }> {
  const server = https.createServer({ key, cert }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      const peer = socket.getPeerCertificate();
      // Prove the channel carries data, not just that the handshake finished.
      socket.write(`GET / HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
      let body = '';
      socket.setEncoding('utf8');
      for await (const chunk of socket) body += String(chunk);
      return { authorized: socket.authorized, error: socket.authorizationError, fingerprint256: peer.fingerprint256, body };
    } finally {
      socket.destroy();
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe.each(['rsa', 'ec'] as const)('generateSelfSignedCertificate (%s)', (keyType) => {
  const dnsNames = ['example.test', 'www.example.test'];
  const before = Date.now();
  const { certPem, keyPem } = generateSelfSignedCertificate({ commonName: 'example.test', dnsNames, keyType, days: 30 });
  const after = Date.now();
  const x509 = new X509Certificate(certPem);

  it('produces a PEM that X509Certificate parses, with the subject and issuer CN', () => {
    expect(certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
    expect(x509.subject).toBe('CN=example.test');
    expect(x509.issuer).toBe('CN=example.test');
    expect(x509.ca).toBe(false);
  });

  it('returns a PKCS#8 private key that matches the certificate', () => {
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(keyPem);
    expect(key.asymmetricKeyType).toBe(keyType);
    if (keyType === 'rsa') expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    else expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x509.checkPrivateKey(key)).toBe(true);
  });

  it('is self-signed: its own public key verifies the signature', () => {
    expect(x509.verify(x509.publicKey)).toBe(true);
    // Subject == issuer, but keyUsage lacks keyCertSign, so OpenSSL rightly says it cannot issue (itself or others).
    expect(x509.checkIssued(x509)).toBe(false);
  });

  it('lists the DNS names in subjectAltName and matches them with checkHost', () => {
    expect(x509.subjectAltName).toBe('DNS:example.test, DNS:www.example.test');
    expect(x509.checkHost('example.test')).toBe('example.test');
    expect(x509.checkHost('www.example.test')).toBe('www.example.test');
    expect(x509.checkHost('other.test')).toBeUndefined();
  });

  it('defaults subjectAltName to the common name', () => {
    const c = new X509Certificate(generateSelfSignedCertificate({ commonName: 'default.test', keyType }).certPem);
    expect(c.subjectAltName).toBe('DNS:default.test');
    expect(c.checkHost('default.test')).toBe('default.test');
  });

  it('is valid from now-1h until now+days', () => {
    const from = Date.parse(x509.validFrom);
    const to = Date.parse(x509.validTo);
    expect(from).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 3600_000);
    expect(from).toBeLessThanOrEqual(after - 3600_000);
    expect(to).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 30 * 86_400_000);
    expect(to).toBeLessThanOrEqual(after + 30 * 86_400_000);
    const dflt = new X509Certificate(generateSelfSignedCertificate({ commonName: 'd.test', keyType }).certPem);
    expect(Math.round((Date.parse(dflt.validTo) - Date.parse(dflt.validFrom)) / 3600_000)).toBe(365 * 24 + 1);
  });

  it('uses a random positive 16-byte serial', () => {
    expect(x509.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    const other = new X509Certificate(generateSelfSignedCertificate({ commonName: 'example.test', keyType }).certPem);
    expect(other.serialNumber).not.toBe(x509.serialNumber);
  });

  it('is accepted by `openssl x509 -text` with the expected extensions', () => {
    const text = opensslText(certPem);
    expect(text).toContain('Version: 3 (0x2)');
    expect(text).toContain(keyType === 'rsa' ? 'sha256WithRSAEncryption' : 'ecdsa-with-SHA256');
    expect(text).toContain('TLS Web Server Authentication');
    expect(text).toContain('DNS:example.test, DNS:www.example.test');
    expect(text).toContain('CA:FALSE');
    expect(text).toMatch(
      keyType === 'rsa' ? /Key Usage: critical\s+Digital Signature, Key Encipherment\n/ : /Key Usage: critical\s+Digital Signature\n/,
    );
  });

  it('completes a real TLS handshake, trusted via ca, with the same certificate', async () => {
    const r = await handshake(keyPem, certPem, certPem, 'example.test');
    expect(r.error).toBeNull();
    expect(r.authorized).toBe(true);
    expect(r.fingerprint256).toBe(x509.fingerprint256);
    expect(r.body).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
  });

  it('rejects the handshake for a name the certificate does not cover', async () => {
    await expect(handshake(keyPem, certPem, certPem, 'wrong.test')).rejects.toThrow(/altnames/);
  });
});

describe.each([
  ['rsa', 'ec'],
  ['ec', 'rsa'],
] as const)('CA-signed leaf (CA %s, leaf %s)', (caType, leafType) => {
  const ca = generateSelfSignedCertificate({ commonName: 'Portico Test CA', keyType: caType, isCA: true });
  const leaf = generateSelfSignedCertificate({
    commonName: 'leaf.test',
    dnsNames: ['leaf.test', 'example.test'],
    keyType: leafType,
    issuer: ca,
  });
  const caX = new X509Certificate(ca.certPem);
  const leafX = new X509Certificate(leaf.certPem);

  it('marks the CA as a CA with keyCertSign', () => {
    expect(caX.ca).toBe(true);
    expect(caX.verify(caX.publicKey)).toBe(true);
    expect(caX.checkIssued(caX)).toBe(true);
    const text = opensslText(ca.certPem);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toContain('Certificate Sign');
  });

  it('issues a leaf whose signature and issuer name chain to the CA', () => {
    expect(leafX.ca).toBe(false);
    expect(leafX.issuer).toBe('CN=Portico Test CA');
    expect(leafX.subject).toBe('CN=leaf.test');
    expect(leafX.verify(caX.publicKey)).toBe(true);
    expect(leafX.verify(leafX.publicKey)).toBe(false);
    expect(leafX.checkIssued(caX)).toBe(true);
    expect(leafX.checkPrivateKey(createPrivateKey(leaf.keyPem))).toBe(true);
    const text = opensslText(leaf.certPem);
    expect(text).toContain(caType === 'rsa' ? 'sha256WithRSAEncryption' : 'ecdsa-with-SHA256');
    expect(text).toContain('TLS Web Server Authentication');
  });

  it('passes `openssl verify` against the CA', () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfsigned-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), ca.certPem);
      writeFileSync(join(dir, 'leaf.pem'), leaf.certPem);
      const out = execFileSync(
        OPENSSL,
        ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')],
        { encoding: 'utf8' },
      );
      expect(out.trim()).toBe(`${join(dir, 'leaf.pem')}: OK`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('completes a real TLS handshake trusted only via the CA', async () => {
    const r = await handshake(leaf.keyPem, leaf.certPem, ca.certPem, 'example.test');
    expect(r.error).toBeNull();
    expect(r.authorized).toBe(true);
    expect(r.fingerprint256).toBe(leafX.fingerprint256);
  });
});

describe.each(['rsa', 'ec'] as const)('generateSelfSignedCertificateOffThread (%s): the key made on the thread pool', (keyType) => {
  it('makes the same kind of certificate, and the key matches it', async () => {
    const { certPem, keyPem } = await generateSelfSignedCertificateOffThread({ commonName: 'off.test', keyType });
    const x = new X509Certificate(certPem);
    expect(x.subject).toBe('CN=off.test');
    expect(x.publicKey.asymmetricKeyType).toBe(keyType);
    expect(x.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
  });
});
