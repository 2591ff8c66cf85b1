// What the publish loop remembers about fencing (redis.ts, PUBLISH_LUA): once Redis refused a publish of lease
// term T because a newer term published, nothing of term T or older is sent again. The elector of a deposed
// leader may still believe it leads until its renew deadline passes; the guard keeps that belief from turning
// into more refused writes (and more log lines) in the meantime. A newer term (this replica won the Lease
// again) publishes normally.
import { PublishFencedError } from './redis.ts';

export class FenceGuard {
  /** The newest term Redis refused, or null. */
  private refusedTerm: number | null = null;
  /** Publishes Redis refused by the fence (portico_sync_publish_fenced_total). */
  refusals = 0;

  /** false: `term` was refused already; publishing it again could only be refused again. */
  allows(term: number | undefined): boolean {
    return term === undefined || this.refusedTerm === null || term > this.refusedTerm;
  }

  /** Records a refusal; true when `err` is one (the caller then stops publishing that term). */
  refused(err: unknown): err is PublishFencedError {
    if (!(err instanceof PublishFencedError)) return false;
    this.refusals++;
    this.refusedTerm = Math.max(this.refusedTerm ?? err.term, err.term);
    return true;
  }
}
