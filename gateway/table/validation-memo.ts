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

/** The clean entries of the tables a worker opened, with what their checks asked. Weak: an entry no kept version
 * holds is collected with it. */
export class ValidationMemo {
  private readonly clean = new WeakMap<object, Asked>();
  private readonly schemas = new WeakMap<HostRoutes, SchemaVersion>();

  /** hostSchema(), remembered for frozen entries. */
  hostSchema(h: HostRoutes): SchemaVersion {
    const known = this.schemas.get(h);
    if (known !== undefined) return known;
    const need = hostSchema(h);
    if (Object.isFrozen(h)) this.schemas.set(h, need);
    return need;
  }

  /** Whether `entry` was found clean and every question it asked gets the same answer from `sets` now. */
  stillClean(entry: object, sets: readonly IdSet[]): boolean {
    const asked = this.clean.get(entry);
    if (asked === undefined) return false;
    for (let i = 0; i < asked.length; i += 3) {
      if (sets[asked[i] as number]!.has(asked[i + 1] as string) !== asked[i + 2]) return false;
    }
    return true;
  }

  /** Remembers a clean, frozen entry (an entry that could still change is not remembered). */
  remember(entry: object, asked: Asked): void {
    if (Object.isFrozen(entry)) this.clean.set(entry, asked);
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

/** Freezes a parsed JSON value and everything in it, so that a remembered entry cannot change under its memo
 * (a write to it throws in strict mode instead of serving a table nobody validated). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
