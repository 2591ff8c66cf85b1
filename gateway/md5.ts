// MD5 (RFC 1321) of a string's UTF-8 bytes, as lower-case hex: nginx's ngx.md5. Used only to name endpoints in
// affinity cookies the way ingress-nginx does (util/nodemap.lua, sticky.lua), so a session cookie ingress-nginx set
// keeps its endpoint after the move to Portico. Not for anything secret. Written out here because the Web runtimes
// (Deno, workerd) share the request path and their WebCrypto has no MD5 and no synchronous digest.

const S = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11,
  16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];
const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
const encoder = new TextEncoder();

export function md5Hex(text: string): string {
  const bytes = encoder.encode(text);
  const n = (((bytes.length + 8) >>> 6) + 1) * 16; // 32-bit words, padded to a multiple of 512 bits
  const w = new Int32Array(n);
  for (let i = 0; i < bytes.length; i++) w[i >> 2]! |= bytes[i]! << ((i % 4) * 8);
  w[bytes.length >> 2]! |= 0x80 << ((bytes.length % 4) * 8);
  w[n - 2] = (bytes.length * 8) | 0;
  w[n - 1] = Math.floor(bytes.length / 2 ** 29);
  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  for (let off = 0; off < n; off += 16) {
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const t = d;
      d = c;
      c = b;
      const x = (a + f + K[i]! + w[off + g]!) | 0;
      b = (b + ((x << S[i]!) | (x >>> (32 - S[i]!)))) | 0;
      a = t;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  let out = '';
  for (const v of [a0, b0, c0, d0]) for (let i = 0; i < 4; i++) out += ((v >>> (i * 8)) & 0xff).toString(16).padStart(2, '0');
  return out;
}
