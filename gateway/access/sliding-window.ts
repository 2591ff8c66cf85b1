// The sliding window of lua-resty-global-throttle (lib/resty/global_throttle/sliding_window.lua, process_sample,
// the interface ingress-nginx's global_throttle.lua calls; ingress-nginx pins v0.2.0): one counter per fixed
// window of W ms (`floor(now / W)`), and the
// previous window's count weighted by the share of it that still lies inside the sliding window. Pure
// arithmetic, shared by the worker-local counter (local-window.ts) and mirrored line by line by the Redis
// script (global-rate-limit-redis.ts), so both decide alike.
//
// Per request, with `count` requests already counted in the current window and `prev` in the one before, and
// `remaining` ms left in the current window:
// - `count >= limit`: refused until the window ends (sliding_window.lua returns `remaining_time`);
// - `prev / W × remaining + count >= limit` (the estimate of the sliding count): refused for the time after
//   which the estimate is below the limit again, `remaining - (limit - count) / (prev / W)` (its
//   get_desired_delay; the spec's example "0.8 - (5 - 2) / 5"). The estimate counts the requests before this
//   one, as the Lua code does (its spec counts this one too, which refuses one request earlier after a busy
//   window);
// - otherwise admitted and counted. With no previous window, exactly `limit` requests pass per window (its spec:
//   "returns precise count and delay when limit is exceeding").

export interface WindowVerdict {
  admitted: boolean;
  /** When refused: how long (ms) every further request of this key is refused too (the decision cache). */
  refuseForMs: number;
}

/** The window `nowMs` lies in. */
export const windowOf = (nowMs: number, windowMs: number): number => Math.floor(nowMs / windowMs);

export function slidingWindow(count: number, prev: number, limit: number, windowMs: number, nowMs: number): WindowVerdict {
  const remaining = windowMs - (nowMs % windowMs);
  if (count >= limit) return { admitted: false, refuseForMs: remaining };
  const rate = prev / windowMs;
  if (rate * remaining + count >= limit) return { admitted: false, refuseForMs: Math.floor(remaining - (limit - count) / rate) };
  return { admitted: true, refuseForMs: 0 };
}
