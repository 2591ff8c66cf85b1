// The status a limit refuses with (nginx limit_req_status and limit_conn_status, ingress-nginx's ConfigMap keys
// limit-req-status-code, limit-conn-status-code and global-rate-limit-status-code). nginx accepts 400 to 599 for
// both directives (ngx_http_limit_req_module.c, ngx_conf_check_num_bounds 400..599); the global rate limit's Lua
// exits with whatever number it is given, and Portico holds it to the same range: a refusal is an error.

export const MIN_REFUSAL_STATUS = 400;
export const MAX_REFUSAL_STATUS = 599;

export const isRefusalStatus = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= MIN_REFUSAL_STATUS && (v as number) <= MAX_REFUSAL_STATUS;

export function checkRefusalStatus(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (v !== undefined && !isRefusalStatus(v)) bad(at, `must be a status from ${MIN_REFUSAL_STATUS} to ${MAX_REFUSAL_STATUS}`);
}
