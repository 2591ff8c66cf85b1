// The only Redis writer of the agent: publishes a compiled table as a signed bundle, atomically (one Lua
// script writes the parts Redis lacks and the version, moves `current`, appends to the history, trims it, deletes
// versions that fell out of it and the parts no kept version references, and notifies the channel). Publishing an
// unchanged table writes nothing; a change writes its manifest and the parts that changed.
import type { RedisClient } from '../../gateway/shared/redis-client.ts';
import { sealBundle, type SealMemory, type SigningKeys } from '../../gateway/table/bundle.ts';
import { redisLayout, type CurrentPointer, type HistoryEntry, type RedisLayout } from '../../gateway/table/redis-layout.ts';
import { assertValidTable } from '../../gateway/table/validate.ts';
import type { CompileResult } from '../compile/types.ts';
import { PorticoError } from '../../gateway/table/portico-error.ts';

// How many parts of a stored version are missing or damaged (not of their signed size); 0 for a version without a
// part list (manifest format 1). `sizes` is absent for versions an earlier agent wrote: then only presence counts.
// Shared by CURRENT_LUA and ROLLBACK_LUA.
const UNSTORED_PARTS_LUA = `
local function unstoredParts(tableKey, prefix)
  local p = redis.call('HGET', tableKey, 'parts')
  if not p then return 0 end
  local okp, refs = pcall(cjson.decode, p)
  if not okp or type(refs) ~= 'table' then return 0 end
  local sizes = nil
  local s = redis.call('HGET', tableKey, 'sizes')
  if s then
    local oks, v = pcall(cjson.decode, s)
    if oks and type(v) == 'table' and #v == #refs then sizes = v end
  end
  local n = 0
  for i, d in ipairs(refs) do
    if type(d) == 'string' then
      local key = prefix .. 'part:' .. d
      local want = sizes and tonumber(sizes[i])
      if want then
        if redis.pcall('STRLEN', key) ~= want then n = n + 1 end
      elseif redis.call('EXISTS', key) == 0 then
        n = n + 1
      end
    end
  end
  return n
end
`;

// KEYS: current, history, table:<version>, fence
// ARGV: version, seq, pointer JSON, history JSON, history length, key prefix, channel, manifest, diagnostics,
//       term ('' when the publisher holds no lease: manifests mode), the JSON list of the SHA-256 of every part the
//       version references, the JSON list of their signed sizes (same order), then sha256 / bytes pairs of the parts
//       Redis lacks (the agent asked first).
// Returns 1 published, 0 unchanged (same version current, its table and every part present), -1 a newer seq is
// already current (another publisher won), -2 held: a rollback from exactly this version is in force, -3 fenced: a
// publisher of a newer lease term has published (the caller was deposed), -4 a part the version references is
// neither stored nor sent (deleted since the agent asked): nothing written, the caller sends every part. A part is
// stored only if its key holds as many bytes as the manifest signed: a truncated, emptied or overwritten part is
// written again (a worker would refuse it for good, PORTICO_BUNDLE_DIGEST), not taken as present. Every JSON
// read is guarded, so a malformed pointer, history entry or part list in Redis is overwritten instead of failing
// every publish.
//
// Parts are content-addressed (`<prefix>part:<sha256>`, redis-layout.ts), shared by every version that lists them.
// Retention recomputes the set of parts the versions still in history reference (their `parts` fields) when
// history is trimmed or a version is published again, and deletes outside it the dropped versions' parts and the
// parts a republished version no longer lists (its keys sealed again by a restarted agent). Recomputed rather than
// reference-counted: a count drifts for good when a version is deleted by hand, evicted, written by an older agent
// or overwritten by a republish, while the recomputed set is right after any of those; it costs history ×
// parts-per-version set inserts, only on a publish that trims or that lists other parts for a version again.
//
// Fencing (Kleppmann, "How to do distributed locking": a fencing token checked by the storage itself): the
// lease term is checked and raised in the same script that moves `current`, so a deposed leader's publish that
// was already on the wire when it lost the Lease cannot land after its successor's first publish.
const PUBLISH_LUA = `
local function decode(raw)
  if type(raw) ~= 'string' then return nil end
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' then return v end
  return nil
end
local prefix = ARGV[6]
local refs = decode(ARGV[11]) or {}
local sizes = decode(ARGV[12]) or {}
local size = {}
for i, d in ipairs(refs) do size[d] = tonumber(sizes[i]) end
local sent = {}
for i = 13, #ARGV, 2 do sent[ARGV[i]] = true end
-- present and of its signed size (STRLEN of a missing key is 0, and no part is empty: a list is at least '[]')
local function stored(d)
  local key = prefix .. 'part:' .. d
  if size[d] then return redis.pcall('STRLEN', key) == size[d] end
  return redis.call('EXISTS', key) == 1
end
local term = tonumber(ARGV[10])
if term then
  local fence = tonumber(redis.call('GET', KEYS[4]))
  if fence and fence > term then return -3 end
  if not fence or fence < term then redis.call('SET', KEYS[4], ARGV[10]) end
end
local cur = redis.call('GET', KEYS[1])
local c = cur and decode(cur)
if c then
  -- unchanged only if the table itself is still there, every part included (one may have been evicted or deleted)
  if c.version == ARGV[1] and redis.call('HEXISTS', KEYS[3], 'manifest') == 1 then
    local whole = true
    for _, d in ipairs(refs) do if not stored(d) then whole = false break end end
    if whole then return 0 end
  end
  -- an operator rolled back from exactly this version: held until the objects change
  if type(c.rollback) == 'table' and c.rollback.from == ARGV[1] then return -2 end
  if tonumber(c.seq) and tonumber(c.seq) >= tonumber(ARGV[2]) then return -1 end
end
for _, d in ipairs(refs) do if not sent[d] and not stored(d) then return -4 end end
for i = 13, #ARGV, 2 do redis.call('SET', prefix .. 'part:' .. ARGV[i], ARGV[i + 1]) end
-- A version published again (still in history, or its hash left behind) may list other parts than before (its keys
-- sealed again by a restarted agent): its old list is a candidate for deletion below, as a dropped version's is.
local previous = decode(redis.pcall('HGET', KEYS[3], 'parts'))
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'manifest', ARGV[8], 'diagnostics', ARGV[9], 'parts', ARGV[11], 'sizes', ARGV[12])
redis.call('SET', KEYS[1], ARGV[3])
redis.call('LPUSH', KEYS[2], ARGV[4])
local n = tonumber(ARGV[5])
local dropped = redis.call('LRANGE', KEYS[2], n, -1)
redis.call('LTRIM', KEYS[2], 0, n - 1)
local orphans = {}
if previous then
  local now = {}
  for _, d in ipairs(refs) do now[d] = true end
  for _, d in ipairs(previous) do if type(d) == 'string' and not now[d] then orphans[d] = true end end
end
if #dropped > 0 or next(orphans) then
  local keep = { [ARGV[1]] = true }
  for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
    local v = decode(e)
    if v and type(v.version) == 'string' then keep[v.version] = true end
  end
  local gone = {}
  for _, e in ipairs(dropped) do
    local v = decode(e)
    if v and type(v.version) == 'string' and not keep[v.version] then gone[v.version] = true end
  end
  if next(gone) or next(orphans) then
    local used = {}
    for _, d in ipairs(refs) do used[d] = true end
    local function partsOf(version)
      return decode(redis.pcall('HGET', prefix .. 'table:' .. version, 'parts')) or {}
    end
    for version in pairs(keep) do
      if version ~= ARGV[1] then for _, d in ipairs(partsOf(version)) do used[d] = true end end
    end
    for version in pairs(gone) do
      for _, d in ipairs(partsOf(version)) do
        if type(d) == 'string' then orphans[d] = true end
      end
      redis.call('DEL', prefix .. 'table:' .. version)
    end
    for d in pairs(orphans) do
      if not used[d] then redis.call('DEL', prefix .. 'part:' .. d) end
    end
  end
end
redis.call('PUBLISH', ARGV[7], ARGV[3])
return 1
`;

// KEYS: current; ARGV: key prefix. The current pointer if its table and every part it references are stored (at
// their signed sizes), else nil: a part evicted, deleted or truncated on its own makes the agent publish again, as a
// deleted table does.
const CURRENT_LUA = `${UNSTORED_PARTS_LUA}
local raw = redis.call('GET', KEYS[1])
if not raw then return nil end
local ok, c = pcall(cjson.decode, raw)
if not ok or type(c) ~= 'table' or type(c.version) ~= 'string' then return nil end
local key = ARGV[1] .. 'table:' .. c.version
if redis.call('EXISTS', key) == 0 or redis.pcall('HEXISTS', key, 'manifest') ~= 1 then return nil end
if unstoredParts(key, ARGV[1]) > 0 then return nil end
return raw
`;

// KEYS: fence; ARGV: term. The fence check alone, for a publish that writes nothing (its table is current
// already, or held by a rollback): a new leader raises the fence with its first attempt either way, so a
// deposed leader is refused from then on even when the successor had nothing new to write.
// Returns 1 accepted (the fence raised to the term if it was lower), -3 fenced.
const FENCE_LUA = `
local fence = tonumber(redis.call('GET', KEYS[1]))
if fence and fence > tonumber(ARGV[1]) then return -3 end
if not fence or fence < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`;

export interface PublisherOptions {
  cluster: string;
  keys: SigningKeys;
  /** Versions kept for inspection and rollback (default 50). */
  history: number;
  /** Identity recorded with each version. */
  publisher: string;
}

export type PublishOutcome =
  | { kind: 'published'; pointer: CurrentPointer }
  | { kind: 'unchanged'; version: string }
  /** An operator rolled back from exactly this version: it stays rolled back until the objects change. */
  | { kind: 'held-by-rollback'; version: string; current: string };

export class PublishConflictError extends PorticoError {
  readonly code = 'PORTICO_PUBLISH_CONFLICT';
}

/** Refused by the fence: an agent of a newer lease term has published, so this one was deposed. */
export class PublishFencedError extends PorticoError {
  readonly code = 'PORTICO_PUBLISH_FENCED';
  constructor(
    readonly term: number,
    readonly fence: number | null,
    cluster: string,
  ) {
    super(
      `refused: lease term ${term} is older than term ${fence ?? '?'} already accepted in cluster ${cluster} (another agent leads now)`,
    );
  }
}

export class RedisPublisher {
  readonly layout: RedisLayout;
  /** The JWEs of the last publish by digest of their plaintext, reused for unchanged private keys and basic-auth
   * material (bundle.ts, SealMemory): in this process's memory only, never in Redis. */
  private sealed: SealMemory | undefined = undefined;
  constructor(
    private readonly redis: RedisClient,
    private readonly o: PublisherOptions,
  ) {
    this.layout = redisLayout(o.cluster);
  }

  /** The current pointer, or null when it is missing, malformed, or names a table that is gone (a part included). */
  async current(): Promise<CurrentPointer | null> {
    const raw = (await this.redis.eval(CURRENT_LUA, 1, this.layout.current, this.layout.prefix)) as string | null;
    return raw === null ? null : (JSON.parse(raw) as CurrentPointer);
  }

  /** The digests among `sizes` that Redis does not hold at their signed size (missing, truncated, overwritten): one
   * round trip (a pipeline in one slot). A damaged part is sent again like a missing one. */
  private async missingParts(sizes: ReadonlyMap<string, number>): Promise<Set<string>> {
    if (sizes.size === 0) return new Set();
    const digests = [...sizes.keys()];
    const replies = (await this.redis.pipeline(digests.map((d) => ['strlen', this.layout.part(d)])).exec()) ?? [];
    return new Set(digests.filter((d, i) => replies[i]?.[0] !== null || replies[i]?.[1] !== sizes.get(d)));
  }

  /** The newest lease term accepted, or null (never fenced yet, or published from manifests). */
  async fence(): Promise<number | null> {
    const raw = await this.redis.get(this.layout.fence);
    return raw === null || !Number.isFinite(Number(raw)) ? null : Number(raw);
  }

  /** `term`: the publisher's lease term (LeaderElector.term); a publish from a term older than one already
   * accepted is refused with PublishFencedError. Undefined: no lease (manifests mode), never fenced. */
  async publish(result: CompileResult, term?: number): Promise<PublishOutcome> {
    const table = assertValidTable(result.table); // never publish what a worker would refuse
    if (term !== undefined && ((await this.redis.eval(FENCE_LUA, 1, this.layout.fence, String(term))) as number) === -3)
      throw new PublishFencedError(term, await this.fence().catch(() => null), this.o.cluster);
    const cur = await this.current();
    if (cur !== null && cur.version === table.version) return { kind: 'unchanged', version: table.version };
    if (cur?.rollback !== undefined && cur.rollback.from === table.version)
      return { kind: 'held-by-rollback', version: table.version, current: cur.version };
    // A timestamp-based sequence stays increasing across agent restarts and a Redis that lost its data.
    const seq = Math.max((cur?.seq ?? 0) + 1, Date.now());
    const pointer: CurrentPointer = { version: table.version, seq, publishedAt: new Date().toISOString(), publisher: this.o.publisher };
    const bundle = await sealBundle(
      table,
      result.certificates,
      { cluster: this.o.cluster, seq, publishedAt: pointer.publishedAt, publisher: pointer.publisher },
      this.o.keys,
      result.basicAuth,
      this.sealed,
    );
    this.sealed = bundle.sealed;
    const entry: HistoryEntry = {
      ...pointer,
      hosts: table.hosts.length,
      routes: table.hosts.reduce((n, h) => n + h.routes.length, 0),
      diagnostics: result.diagnostics.length,
    };
    const args: (string | Buffer)[] = [
      table.version,
      String(seq),
      JSON.stringify(pointer),
      JSON.stringify(entry),
      String(this.o.history),
      this.layout.prefix,
      this.layout.channel,
      bundle.manifest,
      JSON.stringify(result.diagnostics),
      term === undefined ? '' : String(term),
    ];
    const sizes = new Map(bundle.refs.map((p) => [p.sha256, p.bytes] as const));
    const digests = [...sizes.keys()];
    args.push(JSON.stringify(digests), JSON.stringify(digests.map((d) => sizes.get(d)!)));
    const byDigest = new Map(bundle.refs.map((p) => [p.sha256, bundle.parts.get(p.name)!] as const));
    const run = (send: Iterable<string>): Promise<number> => {
      const pairs: (string | Buffer)[] = [];
      for (const d of send) {
        const bytes = byDigest.get(d)!;
        pairs.push(d, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      }
      return this.redis.eval(
        PUBLISH_LUA,
        4,
        this.layout.current,
        this.layout.history,
        this.layout.table(table.version),
        this.layout.fence,
        ...args,
        ...pairs,
      ) as Promise<number>;
    };
    let r = await run(await this.missingParts(sizes));
    // A part deleted between the question and the script (a trim by a publisher of another term): send them all.
    if (r === -4) r = await run(digests);
    if (r === -3) throw new PublishFencedError(term ?? 0, await this.fence().catch(() => null), this.o.cluster);
    if (r === 0) return { kind: 'unchanged', version: table.version };
    if (r === -2) return { kind: 'held-by-rollback', version: table.version, current: cur?.version ?? '?' };
    if (r === -1) throw new PublishConflictError(`a newer version than seq ${seq} is already current in cluster ${this.o.cluster}`);
    return { kind: 'published', pointer };
  }
}

// KEYS: current, history, table:<version>; ARGV: version, pointer JSON (without rollback), history JSON
// (without rollback), channel, by, at, key prefix. The rollback record is completed here, atomically with the read
// of `current`: `from` is the version the agent would publish again, i.e. the `from` of a rollback already in
// force (rolling back twice keeps holding the agent's version), else the current version.
// Returns 1 rolled back, 0 already current, -1 unknown version (its table is gone), {-2, n}: n of its parts are
// missing or damaged (as CURRENT_LUA counts them), so no worker could load it (they would retry
// PORTICO_BUNDLE_PART_MISSING for ever): nothing written.
const ROLLBACK_LUA = `${UNSTORED_PARTS_LUA}
if redis.call('HEXISTS', KEYS[3], 'manifest') == 0 then return -1 end
local unstored = unstoredParts(KEYS[3], ARGV[7])
if unstored > 0 then return { -2, unstored } end
local from = '(none)'
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and type(c) == 'table' then
    if c.version == ARGV[1] then return 0 end
    if type(c.rollback) == 'table' and c.rollback.from then from = c.rollback.from else from = c.version end
  end
end
local record = { from = from, by = ARGV[5], at = ARGV[6] }
local pointer = cjson.decode(ARGV[2])
pointer.rollback = record
local entry = cjson.decode(ARGV[3])
entry.rollback = record
local p = cjson.encode(pointer)
redis.call('SET', KEYS[1], p)
redis.call('LPUSH', KEYS[2], cjson.encode(entry))
redis.call('PUBLISH', ARGV[4], p)
return 1
`;

export class UnknownVersionError extends PorticoError {
  readonly code = 'PORTICO_UNKNOWN_VERSION';
}

/** A rollback to a version whose parts Redis no longer holds whole: refused, `current` left as it was. Exit status 6,
 * as for a stored table that fails verification (what `inspect rollback` with the keys finds first). */
export class IncompleteVersionError extends PorticoError {
  readonly code = 'PORTICO_VERSION_INCOMPLETE';
  override readonly exitCode = 6;
}

/** Makes an earlier, already signed version current again: nothing is re-signed. The pointer
 * records who and when and which version it holds back; workers accept its lower sequence number because
 * of that record, and the agent leaves it alone until the cluster's objects change. */
export async function rollback(
  redis: RedisClient,
  cluster: string,
  target: HistoryEntry,
  by: string,
): Promise<'rolled-back' | 'already-current'> {
  const l = redisLayout(cluster);
  const { rollback: _r, ...plain } = target;
  const pointer: CurrentPointer = { version: plain.version, seq: plain.seq, publishedAt: plain.publishedAt, publisher: plain.publisher };
  const r = (await redis.eval(
    ROLLBACK_LUA,
    3,
    l.current,
    l.history,
    l.table(target.version),
    target.version,
    JSON.stringify(pointer),
    JSON.stringify(plain),
    l.channel,
    by,
    new Date().toISOString(),
    l.prefix,
  )) as number | [number, number];
  if (Array.isArray(r))
    throw new IncompleteVersionError(
      `refused to roll back to ${target.version}: ${r[1]} of its parts are missing from Redis or damaged (evicted, deleted or truncated) in cluster ${cluster}, so no worker could load it; nothing was changed`,
    );
  if (r === -1) throw new UnknownVersionError(`version ${target.version} is no longer stored in cluster ${cluster}`);
  return r === 1 ? 'rolled-back' : 'already-current';
}
