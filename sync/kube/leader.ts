// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection:
// - expiry is judged on this replica's own clock: a Lease counts as expired when its record (holder,
//   renewTime) has not changed for leaseDuration since this replica last saw it change, so clock skew
//   between replicas does not matter;
// - every write carries the resourceVersion it read, so two candidates can never both win one round;
// - a leader steps down by timer when it has not renewed within renewDeadline (measured from the start of
//   its last successful attempt), even while a request is still in flight, so it never leads past the point
//   where another replica may take over (renewDeadline < leaseDuration);
// - its lease term (leaseTerm(): creation time and leaseTransitions) fences its publishes (sync/publish/redis.ts): a publish already on the
//   wire when it stepped down is refused once the successor has published.
import { KubeApiError, type KubeRest } from './rest.ts';

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineMs: number;
  retryMs: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  log(level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string; creationTimestamp?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** MicroTime: RFC 3339 with exactly six fractional digits. */
export const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** The fencing token of a Lease holder: the Lease's creation time (seconds) × 10⁶ + its leaseTransitions, which every
 * new holder raises by one (client-go's leaderelection does the same). The creation time makes it grow across a Lease
 * deleted and created again (an uninstall and reinstall against the same Redis, `kubectl delete lease`), where
 * leaseTransitions starts again at 0 and every agent would otherwise be refused by the fence Redis keeps. Below 2⁵³
 * (a double in Lua) until the year 2255. */
export function leaseTerm(l: Pick<Lease, 'metadata' | 'spec'>): number {
  const created = Date.parse(l.metadata.creationTimestamp ?? '');
  return (Number.isFinite(created) ? Math.floor(created / 1000) * 1_000_000 : 0) + (l.spec.leaseTransitions ?? 0);
}

export class LeaderElector {
  leading = false;
  /** The lease term this replica holds (or last held), the fencing token of its publishes: see leaseTerm(). */
  term = 0;
  /** Why the last attempt failed (for readiness), or null. */
  lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private deadline: NodeJS.Timeout | null = null;
  private observed: { record: string; at: number } | null = null;
  private stopped = false;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly rest: KubeRest,
    private readonly o: LeaderOptions,
  ) {}

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.o.namespace)}/leases`;
  }

  start(): void {
    this.inFlight = this.tick();
  }

  private async tick(): Promise<void> {
    const attemptAt = Date.now();
    // A request may take up to the renew deadline: a leader steps down by its own timer meanwhile (armDeadline), and
    // every write is conditional on the resourceVersion read, so a late one cannot take a Lease someone else holds.
    // Half of it was 1 s with the 3 s default lease: too short for a loaded apiserver, which made standbys unready.
    const budget = Math.max(1_000, this.o.renewDeadlineMs);
    try {
      const won = await this.tryAcquireOrRenew(budget);
      this.lastError = null;
      if (this.stopped) return;
      if (won) {
        this.armDeadline(attemptAt);
        if (!this.leading) {
          this.leading = true;
          this.o.log('info', 'became the leader', { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity });
          this.o.onStartedLeading();
        }
      } else if (this.leading) {
        this.stepDown('another holder took the lease');
      }
    } catch (err) {
      this.lastError = (err as Error).message;
      this.o.log('warn', `lease: ${this.lastError}`);
    } finally {
      if (!this.stopped) this.timer = setTimeout(() => (this.inFlight = this.tick()), this.o.retryMs);
    }
  }

  /** Steps down at attemptAt + renewDeadline unless a later attempt succeeds first. */
  private armDeadline(attemptAt: number): void {
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.deadline = setTimeout(
      () => {
        if (this.leading) this.stepDown(`no renewal within ${this.o.renewDeadlineMs} ms${this.lastError ? ` (${this.lastError})` : ''}`);
      },
      Math.max(0, attemptAt + this.o.renewDeadlineMs - Date.now()),
    );
  }

  private stepDown(why: string): void {
    this.leading = false;
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.o.log('warn', `stopped leading: ${why}`);
    this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const now = new Date();
    let lease: Lease;
    try {
      lease = await this.rest.request<Lease>('GET', `${this.path}/${encodeURIComponent(this.o.name)}`, undefined, undefined, timeoutMs);
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.status !== 404) throw err;
      const spec = {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: this.o.leaseDurationSeconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      };
      return this.write(
        'POST',
        this.path,
        { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec },
        timeoutMs,
      );
    }
    const s = lease.spec;
    const record = `${s.holderIdentity ?? ''}|${s.renewTime ?? ''}`;
    if (this.observed === null || this.observed.record !== record) this.observed = { record, at: now.getTime() };
    const mine = s.holderIdentity === this.o.identity;
    const duration = (s.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
    const expired = !s.holderIdentity || now.getTime() - this.observed.at > duration;
    if (!mine && !expired) return false;
    const spec = mine
      ? { ...s, renewTime: microTime(now), leaseDurationSeconds: this.o.leaseDurationSeconds }
      : {
          holderIdentity: this.o.identity,
          leaseDurationSeconds: this.o.leaseDurationSeconds,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: (s.leaseTransitions ?? 0) + 1,
        };
    return this.write(
      'PUT',
      `${this.path}/${encodeURIComponent(this.o.name)}`,
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: lease.metadata, spec },
      timeoutMs,
    );
  }

  /** false when someone else wrote first (409 Conflict, or 422 when two creates race). */
  private async write(method: 'POST' | 'PUT', path: string, body: unknown, timeoutMs: number): Promise<boolean> {
    try {
      this.term = leaseTerm(await this.rest.request<Lease>(method, path, body, undefined, timeoutMs));
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 422)) return false;
      throw err;
    }
  }

  /** Gives the lease up (so a successor need not wait for it to expire) and stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.inFlight?.catch(() => {});
    if (this.deadline !== null) clearTimeout(this.deadline);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.rest.request<Lease>('GET', `${this.path}/${encodeURIComponent(this.o.name)}`);
      if (lease.spec.holderIdentity === this.o.identity) {
        await this.rest.request('PUT', `${this.path}/${encodeURIComponent(this.o.name)}`, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: lease.metadata,
          spec: { ...lease.spec, holderIdentity: null, renewTime: microTime(new Date(0)) },
        });
      }
    } catch {
      /* the lease expires on its own */
    }
  }
}
