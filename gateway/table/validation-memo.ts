// validate()'s memory across versions, for a worker that follows a table one change at a time. A host or backend
// entry that a worker already found clean is, when the next version holds the very same object again (a part it
// reused instead of parsing, bundle.ts), clean again, provided the rest of the table still answers every question
// its checks asked: "is there a backend `x`?", "a certificate `y`?". Those questions are the only way an entry's
// checks see beyond the entry (IdSet below has nothing but has()), so an entry whose questions all get the answers
// they got before passes the same checks, and only its questions are asked again. Entries must not change after they
// were checked: openBundle freezes every part it parses, and only frozen entries are remembered.

import { hostSchema } from './canonical.ts';
import type { HostRoutes, SchemaVersion } from './schema.ts';

/** What an entry's checks may ask of the rest of the table: whether one id exists. Nothing else (no size, no
 * iteration), which is what makes remembering a clean entry sound. */
export interface IdSet {
  has(id: string): boolean;
}

/** One question and its answer, flat: the set it went to (index), the id, the answer. */
type Asked = readonly (number | string | boolean)[];

/** Which list an entry was checked as: the same object can stand in both (a signed manifest may list the same bytes
 * as a hosts and a backends part, and a worker reuses parts by digest), and clean as one says nothing of the other. */
export type EntryKind = 'host' | 'backend';

/** The clean entries of the tables a worker opened, with what their checks asked. Weak: an entry no kept version
 * holds is collected with it. Only entries deepFreeze() froze are remembered. */
export class ValidationMemo {
  private readonly clean: Record<EntryKind, WeakMap<object, Asked>> = { host: new WeakMap(), backend: new WeakMap() };
  private readonly schemas = new WeakMap<HostRoutes, SchemaVersion>();

  /** hostSchema(), remembered for deep-frozen entries. */
  hostSchema(h: HostRoutes): SchemaVersion {
    const known = this.schemas.get(h);
    if (known !== undefined) return known;
    const need = hostSchema(h);
    if (isDeepFrozen(h)) this.schemas.set(h, need);
    return need;
  }

  /** Whether `entry` was found clean as a `kind` and every question it asked gets the same answer from `sets` now. */
  stillClean(kind: EntryKind, entry: object, sets: readonly IdSet[]): boolean {
    const asked = this.clean[kind].get(entry);
    if (asked === undefined) return false;
    for (let i = 0; i < asked.length; i += 3) {
      if (sets[asked[i] as number]?.has(asked[i + 1] as string) !== asked[i + 2]) return false;
    }
    return true;
  }

  /** Remembers a clean entry that cannot change (one that could is not remembered). */
  remember(kind: EntryKind, entry: object, asked: Asked): void {
    if (isDeepFrozen(entry)) this.clean[kind].set(entry, asked);
  }
}

/** The table's id sets as its entries' checks see them, writing down every question asked since begin(). */
export class AskedSets {
  private asked: (number | string | boolean)[] = [];

  constructor(private readonly sets: readonly IdSet[]) {}

  /** sets[i] as the checks see it: each question is written down with its answer. */
  view(i: number): IdSet {
    const set = this.sets[i]!;
    return {
      has: (id: string): boolean => {
        const answer = set.has(id);
        this.asked.push(i, id, answer);
        return answer;
      },
    };
  }

  /** Starts the questions of one entry. */
  begin(): void {
    this.asked = [];
  }

  /** The questions asked since begin(). */
  taken(): Asked {
    return this.asked;
  }
}

/** Every object deepFreeze() froze, with everything in it: Object.isFrozen() says nothing of an object's children. */
const deepFrozen = new WeakSet<object>();

/** Whether deepFreeze() froze `value` (so nothing in it can change). */
export function isDeepFrozen(value: object): boolean {
  return deepFrozen.has(value);
}

/** Freezes a parsed JSON value and everything in it, so that a remembered entry cannot change under its memo
 * (a write to it throws in strict mode instead of serving a table nobody validated). With a stack, not recursion:
 * JSON nested thousands deep must not end as a RangeError. */
export function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || deepFrozen.has(v)) continue;
    for (const child of Object.values(v)) stack.push(child);
    Object.freeze(v);
    deepFrozen.add(v);
  }
  return value;
}
