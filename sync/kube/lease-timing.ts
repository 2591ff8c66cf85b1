// The leader election's three periods, derived from the one flag (--lease-duration) in client-go's proportions:
// its defaults are leaseDuration 15 s, renewDeadline 10 s, retryPeriod 2 s (k8s.io/client-go/tools/leaderelection,
// used by kube-controller-manager). Portico's default lease is 3 s: a crashed leader is replaced within about
// leaseDuration + 2 × retry (a standby sees the last renewal up to one retry late, and tries again up to one retry
// after expiry), i.e. 4 s, where 15 s meant 15-18 s without a table. A stopping leader releases the Lease
// (leader.ts stop()), so a rolling restart hands over within one retry. The cost is two small Lease requests per
// replica every retry (0.5 s), which a kube-apiserver takes in its stride.
export interface LeaseTiming {
  leaseDurationSeconds: number;
  /** The leader steps down when it has not renewed for this long: client-go's 2/3 of the lease. */
  renewDeadlineMs: number;
  /** Between attempts to acquire or renew: a sixth of the lease, at least 250 ms. */
  retryMs: number;
}

export const DEFAULT_LEASE_SECONDS = 3;

export function leaseTiming(durationSeconds = DEFAULT_LEASE_SECONDS): LeaseTiming {
  const ms = durationSeconds * 1000;
  return { leaseDurationSeconds: durationSeconds, renewDeadlineMs: (ms * 2) / 3, retryMs: Math.max(250, ms / 6) };
}
