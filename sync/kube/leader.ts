// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does: the holder
// renews every `retryMs`; anyone may take the Lease once `leaseDurationSeconds` passed since the last
// renewal; every write carries the resourceVersion it read, so two candidates can never both win. A
// leader that cannot renew within `renewDeadlineMs` steps down before the Lease can expire.
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
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/** MicroTime: RFC 3339 with exactly six fractional digits. */
export const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  leading = false;
  private timer: NodeJS.Timeout | null = null;
  private lastRenew = 0;
  private stopped = false;

  constructor(private readonly rest: KubeRest, private readonly o: LeaderOptions) {}

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.o.namespace)}/leases`;
  }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.o.retryMs);
  }

  private async tick(): Promise<void> {
    try {
      const won = await this.tryAcquireOrRenew();
      if (won) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.o.log('info', 'became the leader', { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity });
          this.o.onStartedLeading();
        }
      } else if (this.leading) {
        this.stepDown('another holder took the lease');
      }
    } catch (err) {
      if (this.leading && Date.now() - this.lastRenew > this.o.renewDeadlineMs) this.stepDown(`could not renew the lease: ${(err as Error).message}`);
      else this.o.log('warn', `lease: ${(err as Error).message}`);
    }
    this.schedule();
  }

  private stepDown(why: string): void {
    this.leading = false;
    this.o.log('warn', `stopped leading: ${why}`);
    this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    let lease: Lease;
    try {
      lease = await this.rest.request<Lease>('GET', `${this.path}/${encodeURIComponent(this.o.name)}`);
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.status !== 404) throw err;
      const fresh: Lease = {
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec: { holderIdentity: this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      return this.write('POST', this.path, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...fresh });
    }
    const s = lease.spec;
    const mine = s.holderIdentity === this.o.identity;
    const renewed = s.renewTime ? Date.parse(s.renewTime) : 0;
    const expired = !s.holderIdentity || renewed + (s.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000 < now.getTime();
    if (!mine && !expired) return false;
    const spec = mine
      ? { ...s, renewTime: microTime(now), leaseDurationSeconds: this.o.leaseDurationSeconds }
      : { holderIdentity: this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: (s.leaseTransitions ?? 0) + 1 };
    return this.write('PUT', `${this.path}/${encodeURIComponent(this.o.name)}`, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: lease.metadata, spec });
  }

  /** false when someone else wrote first (409 Conflict / 422 on create races). */
  private async write(method: 'POST' | 'PUT', path: string, body: unknown): Promise<boolean> {
    try {
      await this.rest.request(method, path, body);
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
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.rest.request<Lease>('GET', `${this.path}/${encodeURIComponent(this.o.name)}`);
      if (lease.spec.holderIdentity === this.o.identity) {
        await this.rest.request('PUT', `${this.path}/${encodeURIComponent(this.o.name)}`, {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: lease.metadata,
          spec: { ...lease.spec, holderIdentity: null, renewTime: microTime(new Date(0)) },
        });
      }
    } catch {
      /* the lease expires on its own */
    }
  }
}
