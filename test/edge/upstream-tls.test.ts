// The proxy-ssl-ciphers allow-list and the proxy-ssl-name rule (gateway/table/validate-upstream-tls.ts), shared by the
// compiler and validate(): named cases from openssl-ciphers(1)'s cipher-string syntax and ingress-nginx's
// proxySSLCiphersRegex (`[A-Za-z0-9+:_\-!]`).
import { describe, expect, it } from 'vitest';
import { cipherListProblem, upstreamNameProblem } from '../../gateway/table/validate-upstream-tls.ts';

describe('proxy-ssl-ciphers allow-list', () => {
  const cases: [string, string, ReturnType<typeof cipherListProblem>][] = [
    ["proxyssl.go's HIGH:!AES", 'HIGH:!AES', null],
    ['DEFAULT', 'DEFAULT', null],
    ['cipher names, OpenSSL and TLS 1.3 spellings', 'ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256', null],
    ['a combination and a move to the end', 'ECDHE+AESGCM:+AES128', null],
    ['excluding anonymous, null and MD5 suites', 'HIGH:!aNULL:!eNULL:-MD5', null],
    ['enabling anonymous suites', 'HIGH:aNULL', { kind: 'weakening', token: 'aNULL' }],
    ['enabling null encryption', 'eNULL', { kind: 'weakening', token: 'eNULL' }],
    ['an anonymous suite by name', 'ADH-AES128-SHA', { kind: 'weakening', token: 'ADH-AES128-SHA' }],
    ['a null-encryption suite by name', 'ECDHE-RSA-NULL-SHA', { kind: 'weakening', token: 'ECDHE-RSA-NULL-SHA' }],
    ['a combination with an anonymous part', 'kECDHE+aNULL', { kind: 'weakening', token: 'kECDHE+aNULL' }],
    ['EXPORT', 'EXPORT', { kind: 'weakening', token: 'EXPORT' }],
    ['RC4 suites by name', 'RC4-SHA', { kind: 'weakening', token: 'RC4-SHA' }],
    ['an unknown keyword', 'HIGH:SNAKEOIL', { kind: 'unknown', token: 'SNAKEOIL' }],
    ['a lower-case name', 'ecdhe-rsa-aes128-gcm-sha256', { kind: 'unknown', token: 'ecdhe-rsa-aes128-gcm-sha256' }],
    ['an empty token', 'HIGH::MEDIUM', { kind: 'unknown', token: '' }],
    ['empty', '', { kind: 'unknown', token: '' }],
  ];
  for (const [name, list, expected] of cases) it(name, () => expect(cipherListProblem(list)).toEqual(expected));
});

describe('proxy-ssl-name', () => {
  const cases: [string, string, boolean][] = [
    ['a DNS name', 'backend.internal', true],
    ["a Service's DNS name", 'web.default.svc.cluster.local', true],
    ['an IPv4 address', '10.0.0.7', true],
    ['an IPv6 address', 'fd00::7', true],
    ['upper case (nginx compares case-insensitively; the table keeps one spelling)', 'Backend.Internal', false],
    ['a wildcard', '*.internal', false],
    ['an underscore', 'bad_name', false],
    ['empty', '', false],
  ];
  for (const [name, value, ok] of cases) it(name, () => expect(upstreamNameProblem(value) === null).toBe(ok));
});
