// Answers of auth services kept for auth-cache-duration, per worker process (nginx keeps them in a cache zone
// shared by its workers on the node). Bounded: the oldest entries go first when it is full.
import type { AuthAnswer } from './external-auth.ts';

export class AuthCache {
  private readonly entries = new Map<string, { answer: AuthAnswer; expires: number }>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): AuthAnswer | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.answer;
  }

  set(key: string, answer: AuthAnswer, seconds: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { answer, expires: this.now() + seconds * 1000 });
  }

  get size(): number {
    return this.entries.size;
  }
}
