// What a part answers on /readyz: whether it should get traffic (or be counted as up), and why, in words an
// operator reads in `kubectl describe pod`.
export interface Readiness {
  ready: boolean;
  detail: string;
}
