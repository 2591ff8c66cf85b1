// A consistent-hash ring in the manner of ketama (and of resty.chash, which ingress-nginx's chash, chashsubset and
// sticky_balanced balancers use): every node is placed at POINTS pseudo-random spots on a 32-bit circle, and a key
// goes to the first spot at or after its own hash. A node's spots depend on its name alone, so adding or removing
// one node moves only the keys that land next to its spots (about 1/n of them), never the others.

/** Spots per node: resty.chash uses 160 per unit of weight, which keeps the load within a few percent. */
const POINTS = 160;

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so close strings ("a#1", "a#2") land far apart. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class HashRing {
  private readonly spots: Uint32Array;
  private readonly owners: Int32Array;

  /** `names[i]` names node i (an endpoint's `address:port`, a subset's id). */
  constructor(names: readonly string[]) {
    const all: [number, number][] = [];
    names.forEach((name, i) => {
      for (let p = 0; p < POINTS; p++) all.push([hash32(`${name}#${p}`), i]);
    });
    // On a tie of spots the lower name wins, so the order of `names` never matters.
    all.sort((x, y) => x[0] - y[0] || (names[x[1]]! < names[y[1]]! ? -1 : 1));
    this.spots = Uint32Array.from(all, (x) => x[0]);
    this.owners = Int32Array.from(all, (x) => x[1]);
  }

  /** The node index for `key`; -1 when the ring is empty. */
  find(key: string): number {
    const n = this.spots.length;
    if (n === 0) return -1;
    const h = hash32(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.spots[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === n ? 0 : lo]!;
  }
}
