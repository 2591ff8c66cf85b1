// The in-cluster agent: informers → debounce → compile (or the endpoint-only cheap path) →
// publish, Ingress status and Events. Every replica watches and compiles (so a new leader is ready at
// once); only the Lease holder publishes and writes to the API.
import { SingleFlight } from '../../gateway/shared/single-flight.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { IncrementalCompiler } from '../compile/incremental.ts';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions, type CompileResult, type ConfigMap, type Ingress } from '../compile/types.ts';
import { AuthSecrets, authSecretRefs, customHeadersRefs, jwtSourceRefs, proxySetHeadersRefs } from './auth-secrets.ts';
import { JwksUrls } from './jwks-urls.ts';
import { currentEventKeys, dueEvents, emitEvent } from './events.ts';
import { LeaderElector } from './leader.ts';
import { KubeRest } from './rest.ts';
import { splitRef } from '../compile/gateway-settings.ts';
import { classReport, classSelectionMessage, type ClassReport } from '../compile/class-report.ts';
import { publishServiceAddresses, type ServiceRef } from './publish-service.ts';
import { desiredStatus, planStatus, writeStatus, type LoadBalancerIngress } from './status.ts';
import { StatusLedger } from './status-ledger.ts';
import { EventLedger } from './event-ledger.ts';
import { RecentStatusWrites, resourceVersions } from './status-recent.ts';
import { secretsOnce } from './secrets-once.ts';
import { ClusterWatch, type Kind } from './watch.ts';
import { BurstCoalescer } from './burst-coalescer.ts';
import { leaseTiming } from './lease-timing.ts';

export interface AgentOptions {
  kc: KubeConfig;
  /** Receives every new table while this replica leads, with its lease term, the fencing token (PublishLoop.offer).
   * May return a promise that settles once that table's publish attempt has ended (published or failed): the status
   * and Event writes of the table wait for it, so they take no CPU or API time from the publish. */
  publish(result: CompileResult, term: number): Promise<void> | void;
  /** Called when this replica stops leading: nothing may be published any more (PublishLoop.withdraw). */
  withdraw(): void;
  compile?: Partial<CompileOptions>;
  /** Addresses written to status.loadBalancer.ingress (IPs or host names). */
  publishAddresses: string[];
  /** Instead of publishAddresses: the addresses of this Service (publish-service.ts), followed live. */
  publishService?: ServiceRef;
  /** false: no Ingress status is written or cleared at all (side by side with a controller that writes it). */
  writeStatus?: boolean;
  identity: string;
  lease: { namespace: string; name: string; durationSeconds?: number };
  secretLabelSelector?: string;
  /** See WatchOptions.rewatchMs. */
  rewatchMs?: number;
  /** How often the basic-auth Secrets named by auth-secret are read again (auth-secrets.ts); default 10 s. */
  authSecretRefreshMs?: number;
  /** How often the JWK Sets named by portico.dev/auth-jwt-jwks-url are fetched again (jwks-urls.ts); default 300 s. */
  jwksRefreshMs?: number;
  /** Per JWK Set fetch; default 5 s. */
  jwksTimeoutMs?: number;
  /** A lone change compiles at once; changes closer together than debounceMs form a burst, compiled once it is
   * quiet for debounceMs but never later than maxDelayMs after its first held change (burst-coalescer.ts). */
  debounceMs?: number;
  maxDelayMs?: number;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

/** Parallel status/event writes: enough to drain a burst quickly, few enough not to crowd the apiserver. */
const API_CONCURRENCY = 8;
/** Status writes go first and wider: they are what users and tools (kubectl wait, Argo CD health) wait for. */
const STATUS_CONCURRENCY = 16;
/** Events go in chunks of this many, and only while no newer table's statuses wait: after a bulk of new Ingresses a
 * thousand Sync Events would otherwise hold the statuses back for as long as they take (at the ~100-150 writes/s an
 * apiserver on 2 cores takes, 7 s at 1,000 Ingresses: bench/RESULTS.md). */
const EVENT_CHUNK = 50;
/** A standby replica compiles each change (so that it is ready to lead) this long after it, coalescing what arrives
 * meanwhile, not at once: nothing waits for its table, and compiling at the very moment the leader compiles and
 * publishes, and the workers load, takes CPU from them wherever they share a node (workers run on every node). A
 * replica that starts leading compiles at once (onStartedLeading). */
const STANDBY_DELAY_MS = 100;
/** Status and Event writes of a table wait for its publish attempt, but never longer than this: a publish held up
 * (Redis slow to answer) must not hold statuses up with it. */
const API_AFTER_PUBLISH_MAX_MS = 2_000;
/** Events are sent once the watch has been quiet this long (statuses first), or after EVENT_MAX_HOLD_MS at most. */
const EVENT_QUIET_MS = 500;
const EVENT_MAX_HOLD_MS = 5_000;
/** The Event ledger is stored at the end of an Event round, and during a long one at most this often. */
const EVENT_LEDGER_EVERY_MS = 2_000;

async function runLimited(jobs: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, jobs.length) }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}

export interface AgentStats {
  fullCompiles: number;
  /** Compiles of only the hosts a change touched (compile/incremental.ts). */
  incrementalCompiles: number;
  lastCompileMs: number;
  apiWriteErrors: number;
  statusWrites: number;
}

export class KubeAgent {
  readonly watch: ClusterWatch;
  readonly elector: LeaderElector;
  private readonly rest: KubeRest;
  /** The Secrets auth-secret annotations name, read by name (never listed). */
  private readonly authSecrets: AuthSecrets;
  /** The ConfigMaps portico.dev/auth-jwt-jwks-configmap, auth-proxy-set-headers and custom-headers name, read by name
   * the same way. */
  private readonly authConfigMaps: AuthSecrets<ConfigMap>;
  /** The JWK Sets portico.dev/auth-jwt-jwks-url names, fetched (last good kept). */
  private readonly jwksUrls: JwksUrls;
  private authRefresh: NodeJS.Timeout | null = null;
  private jwksRefresh: NodeJS.Timeout | null = null;
  private authSecretsDue = false;
  private jwksUrlsDue = false;
  private readonly dirty = new Set<Kind>();
  /** The Events already sent, kept in a ConfigMap (event-ledger.ts) so that a new leader does not send them again. */
  private readonly events: EventLedger;
  /** What this agent wrote into Ingress statuses, kept in a ConfigMap (status-ledger.ts); the leader loads it. */
  private readonly ledger: StatusLedger;
  /** Status writes the view has not caught up with yet, not to be made twice (status-recent.ts). */
  private readonly recentStatus = new RecentStatusWrites();
  /** The Ingresses not selected by class, by reason (the last full pass). */
  classes: ClassReport | null = null;
  private lastClassMessage: string | null = null;
  private last: CompileResult | null = null;
  /** Compiles again only the hosts a change touches; always the same result as a full compile. */
  private readonly compiler: IncrementalCompiler;
  private lastFullReason: string | null = null;
  /** The controller ConfigMap last seen (--nginx-configmap), kept when it is deleted. */
  private lastControllerConfigMap: ConfigMap | null = null;
  private keptDeletedConfigMap = false;
  /** Lone changes compile at once, bursts are coalesced (burst-coalescer.ts). */
  private readonly bursts: BurstCoalescer;
  /** While standing by: a change compiles STANDBY_DELAY_MS after it, not at once (see there). */
  private readonly standby: BurstCoalescer;
  /** Passes never overlap; changes during one get one more pass right after it. */
  private readonly passes = new SingleFlight(() =>
    this.pass().catch((err: unknown) => this.o.log('error', `sync pass failed: ${(err as Error).message}`)),
  );
  private apiPending: { result: CompileResult; ingresses: readonly Ingress[] } | null = null;
  /** Counts the tables offered, and the newest of them whose status and Event writes have started: a table whose
   * publish ends after a newer one's writes started (its 2 s bound ran out) starts none, never going back. */
  private offered = 0;
  private apiStarted = 0;
  /** When the watch last reported a change (our own status writes included): Events wait for a quiet moment. */
  private lastChangeAt = 0;
  /** Since when due Events have waited for statuses or quiet (null: none waiting). */
  private eventsHeldSince: number | null = null;
  private wakeApi: (() => void) | null = null;
  private apiRunning = false;
  readonly stats: AgentStats = { fullCompiles: 0, incrementalCompiles: 0, lastCompileMs: 0, apiWriteErrors: 0, statusWrites: 0 };

  constructor(private readonly o: AgentOptions) {
    this.rest = new KubeRest(o.kc);
    this.compiler = new IncrementalCompiler(o.compile);
    this.authSecrets = new AuthSecrets(this.rest, o.log);
    this.authConfigMaps = new AuthSecrets<ConfigMap>(this.rest, o.log, 'ConfigMap');
    this.jwksUrls = new JwksUrls({ log: o.log, ...(o.jwksTimeoutMs === undefined ? {} : { timeoutMs: o.jwksTimeoutMs }) });
    this.watch = new ClusterWatch(o.kc, {
      onChange: (k) => this.changed(k),
      log: o.log,
      ...(o.secretLabelSelector ? { secretLabelSelector: o.secretLabelSelector } : {}),
      ...(o.rewatchMs ? { rewatchMs: o.rewatchMs } : {}),
      ...(o.compile?.nginxConfigMap === undefined ? {} : { configMap: splitRef(o.compile.nginxConfigMap) ?? undefined }),
      ...(o.publishService ? { statusOfService: `${o.publishService.namespace}/${o.publishService.name}` } : {}),
    });
    this.bursts = new BurstCoalescer(() => this.kick(false), { windowMs: o.debounceMs ?? 50, maxWaitMs: o.maxDelayMs ?? 1_000 });
    this.standby = new BurstCoalescer(() => this.kick(false), {
      windowMs: STANDBY_DELAY_MS,
      maxWaitMs: Math.max(STANDBY_DELAY_MS, o.maxDelayMs ?? 1_000),
      leading: false,
    });
    const leadership = () => (this.elector.leading ? this.elector.term : null);
    this.ledger = new StatusLedger(this.rest, o.lease.namespace, `${o.lease.name}-status`, o.log, leadership);
    this.events = new EventLedger(this.rest, o.lease.namespace, `${o.lease.name}-events`, o.log, leadership);
    this.elector = new LeaderElector(this.rest, {
      namespace: o.lease.namespace,
      name: o.lease.name,
      identity: o.identity,
      ...leaseTiming(o.lease.durationSeconds),
      log: o.log,
      onStartedLeading: () => {
        this.ledger.loaded = false; // a new leader reads what the previous one wrote
        this.recentStatus.clear();
        this.events.loaded = false; // and what it sent: Events are not sent twice across leaders
        this.kick(true);
      },
      onStoppedLeading: () => {
        o.withdraw();
        this.apiStarted = ++this.offered; // a table whose publish is still under way writes no status: another replica leads now
        this.apiPending = null;
      },
    });
  }

  private get compileOptions(): CompileOptions {
    return {
      ...this.o.compile,
      controller: this.o.compile?.controller ?? DEFAULT_COMPILE_OPTIONS.controller,
      annotationClass: this.o.compile?.annotationClass ?? DEFAULT_COMPILE_OPTIONS.annotationClass,
      serveClasses: this.o.compile?.serveClasses ?? DEFAULT_COMPILE_OPTIONS.serveClasses,
      watchWithoutClass: this.o.compile?.watchWithoutClass ?? DEFAULT_COMPILE_OPTIONS.watchWithoutClass,
      allowedResponseHeaders: this.o.compile?.allowedResponseHeaders ?? DEFAULT_COMPILE_OPTIONS.allowedResponseHeaders,
    };
  }

  get result(): CompileResult | null {
    return this.last;
  }

  async start(): Promise<void> {
    await this.watch.start(); // every informer listed once: the first table sees everything
    this.o.log('info', 'informers synced', { ...this.counts() });
    // A changed password in a Secret the agent does not watch: read them all again on a schedule, in a pass (the
    // one reader of those Secrets, never two at once); the pass compiles only if one changed.
    this.authRefresh = setInterval(() => {
      this.authSecretsDue = true;
      void this.passes.request();
    }, this.o.authSecretRefreshMs ?? 10_000);
    this.authRefresh.unref();
    this.jwksRefresh = setInterval(() => {
      this.jwksUrlsDue = true;
      void this.passes.request();
    }, this.o.jwksRefreshMs ?? 300_000);
    this.jwksRefresh.unref();
    this.kick(true);
    this.elector.start();
  }

  private counts(): Record<string, number> {
    const s = this.watch.snapshot();
    return {
      ingresses: s.ingresses.length,
      services: s.services.length,
      endpointSlices: s.endpointSlices.length,
      secrets: s.secrets.length,
    };
  }

  private changed(kind: Kind): void {
    this.lastChangeAt = performance.now();
    this.dirty.add(kind);
    (this.elector.leading ? this.bursts : this.standby).trigger();
  }

  /** Runs one pass now (or right after the current one). `full`: ignore the cheap path. */
  private kick(full: boolean): void {
    this.bursts.cancel();
    this.standby.cancel();
    if (full) this.dirty.add('Ingress');
    void this.passes.request();
  }

  private async pass(): Promise<void> {
    if (!this.watch.synced) return;
    const watched = this.watch.snapshot();
    // Secrets a new or changed Ingress names are read before it compiles, so its routes never wait a period.
    const rereadAll = this.authSecretsDue;
    this.authSecretsDue = false;
    const refetch = this.jwksUrlsDue;
    this.jwksUrlsDue = false;
    const jwt = jwtSourceRefs(watched, this.compileOptions);
    // The default certificate's Secret is read by name too: the TLS Secret watch may be narrowed by a label selector.
    const fallbackCertificate = this.o.compile?.defaultSslCertificate;
    const secretRefs = new Set([
      ...authSecretRefs(watched, this.compileOptions),
      ...jwt.secrets,
      ...(fallbackCertificate === undefined ? [] : [fallbackCertificate]),
    ]);
    if (await this.authSecrets.refresh(secretRefs, rereadAll)) this.dirty.add('Secret');
    const configMapRefs = new Set([
      ...jwt.configMaps,
      ...proxySetHeadersRefs(watched, this.compileOptions),
      ...customHeadersRefs(watched, this.compileOptions),
    ]);
    if (await this.authConfigMaps.refresh(configMapRefs, rereadAll)) this.dirty.add('Secret');
    if (await this.jwksUrls.refresh(jwt.urls, refetch)) this.dirty.add('Secret');
    if (this.last !== null && this.dirty.size === 0) return; // a scheduled re-read that changed nothing
    const objects = {
      ...watched,
      secrets: secretsOnce(watched.secrets, this.authSecrets.secrets()),
      configMaps: [...this.controllerConfigMap(watched.configMaps ?? []), ...this.authConfigMaps.secrets()],
      jwks: this.jwksUrls.documents(),
    };
    const dirty = [...this.dirty];
    this.dirty.clear();
    const t = performance.now();
    const fullBefore = this.compiler.stats.full;
    let result: CompileResult;
    try {
      result = this.compiler.compile(objects);
    } catch (err) {
      for (const k of dirty) this.dirty.add(k); // nothing is lost: the next pass sees these changes again
      throw err;
    }
    this.stats.lastCompileMs = performance.now() - t;
    const full = this.compiler.stats.full > fullBefore;
    if (full) this.stats.fullCompiles++;
    else this.stats.incrementalCompiles++;
    const why = full ? this.compiler.stats.lastFullReason : null;
    if (why !== null && why !== this.lastFullReason) this.o.log('info', `full compile: ${why}`); // said when the reason changes
    this.lastFullReason = why;
    this.last = result;
    if (full || dirty.includes('Ingress')) this.reportClasses(objects);
    if (!this.elector.leading) return;
    this.afterPublish(this.o.publish(result, this.elector.term), result, objects.ingresses);
  }

  /** The status and Event writes of a table start once its publish attempt has ended (or API_AFTER_PUBLISH_MAX_MS
   * has passed): started beside it, a status round (the ledger's JSON, the planning over every Ingress, the HTTP
   * writes) shared the event loop with the publish and held a lone change's publish back by tens of milliseconds at
   * 1,000 Ingresses (bench/RESULTS.md, "Control plane: one change"). Statuses say where an Ingress is served, so
   * writing them once the table is out is the natural order anyway. Each table's writes start when its own publish
   * attempt ends (PublishLoop.offer), so under a steady stream of changes statuses still follow publish by publish
   * (the newest table wins in writeApiSoon), instead of all at once when the stream stops. */
  private afterPublish(published: Promise<void> | void, result: CompileResult, ingresses: readonly Ingress[]): void {
    const n = ++this.offered;
    const start = () => {
      if (n <= this.apiStarted || !this.elector.leading) return;
      this.apiStarted = n;
      this.writeApiSoon(result, ingresses);
    };
    if (published === undefined) return start();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((r) => {
      timer = setTimeout(r, API_AFTER_PUBLISH_MAX_MS);
      timer.unref();
    });
    void Promise.race([published.catch(() => undefined), bound]).then(() => {
      clearTimeout(timer);
      start();
    });
  }

  /** Ingresses exist but none is of a class this agent serves: one log line naming the classes seen and the
   * flags that would select them, again only when that changes (the readiness detail and the metric say it
   * all the time). */
  private reportClasses(objects: Parameters<typeof classReport>[0]): void {
    this.classes = classReport(objects, this.compileOptions);
    const message = classSelectionMessage(this.classes);
    if (message !== null && message !== this.lastClassMessage) this.o.log('warn', message);
    this.lastClassMessage = message;
  }

  /** The addresses Ingress status should hold; null while the --publish-service Service does not exist. */
  private desiredAddresses(): LoadBalancerIngress[] | null {
    if (this.o.publishService === undefined) return desiredStatus(this.o.publishAddresses);
    const addresses = publishServiceAddresses(this.watch.snapshot().services, this.o.publishService);
    return addresses === null ? null : desiredStatus(addresses);
  }

  /** One round of status writes: the ledger first names every address about to be written, then the writes,
   * then the ledger drops what was cleared. A ledger that cannot be read or stored means no status write. */
  private async statusRound(result: CompileResult, ingresses: readonly Ingress[]): Promise<void> {
    if (this.o.writeStatus === false) return;
    try {
      if (!this.ledger.loaded) await this.ledger.load();
      const plan = planStatus(ingresses, result.accepted, this.desiredAddresses(), this.ledger.entries);
      // Not stored (this replica was deposed during the store): no status is written that no ledger records.
      if (!(await this.ledger.store(plan.before))) return;
      const after = new Map(plan.after);
      const versions = resourceVersions(ingresses);
      this.recentStatus.prune(versions);
      const rv = (c: (typeof plan.changes)[number]) => versions.get(`${c.ref.namespace}/${c.ref.name}`);
      await runLimited(
        plan.changes
          .filter((c) => !this.recentStatus.done(c, rv(c)))
          .map((c) => async () => {
            if (!this.elector.leading) return; // deposed during the round: the new leader writes statuses
            try {
              await writeStatus(this.rest, c);
              this.recentStatus.record(c, rv(c));
              this.stats.statusWrites++;
            } catch (err) {
              this.apiError('status', err as Error);
              const key = `${c.ref.namespace}/${c.ref.name}`;
              const before = plan.before.get(key);
              if (before !== undefined) after.set(key, before); // retried next round, still recorded
            }
          }),
        STATUS_CONCURRENCY,
      );
      // Lost the lease meanwhile: no store, which would overwrite the new leader's ledger (a store re-reads on a
      // conflict and writes again); `before`, stored above, records every address written, which is safe.
      if (!this.elector.leading) return;
      await this.ledger.store(after);
    } catch (err) {
      this.apiError(`status ledger ${this.ledger.name}`, err as Error);
    }
  }

  /** The controller ConfigMap as the compiler should see it. Once seen, a deleted one keeps its last settings (with a
   * log line), as ingress-nginx keeps running with its last configuration: uninstalling ingress-nginx deletes its
   * ConfigMap, and that must not drop a global auth or an allowlist from every route. */
  private controllerConfigMap(watched: readonly ConfigMap[]): ConfigMap[] {
    if (this.o.compile?.nginxConfigMap === undefined) return [...watched];
    if (watched.length > 0) {
      this.lastControllerConfigMap = watched[0]!;
      this.keptDeletedConfigMap = false;
      return [...watched];
    }
    if (this.lastControllerConfigMap === null) return [];
    if (!this.keptDeletedConfigMap)
      this.o.log(
        'warn',
        `controller ConfigMap ${this.o.compile.nginxConfigMap} was deleted; its last settings stay in force until it is created again or --nginx-configmap is removed`,
      );
    this.keptDeletedConfigMap = true;
    return [this.lastControllerConfigMap];
  }

  /** Status and Events run beside the compile loop, never in front of the next publish: after a burst of
   * thousands of new Ingresses they are thousands of API calls. The newest state wins; writes that fail
   * are retried by the next round, never fatal. Statuses go first: what users and tools (kubectl wait, Argo CD
   * health) wait for; Events only once no newer table's statuses are waiting. */
  private writeApiSoon(result: CompileResult, ingresses: readonly Ingress[]): void {
    this.apiPending = { result, ingresses };
    this.wakeApi?.();
    if (this.apiRunning) return;
    this.apiRunning = true;
    void (async () => {
      while (this.apiPending !== null && this.elector.leading) {
        const { result: r, ingresses: ings } = this.apiPending;
        this.apiPending = null;
        await this.statusRound(r, ings);
        // Events wait while changes still arrive (a bulk, and the status writes it causes) or a newer table's statuses
        // are due, so they take no share of what the apiserver writes before every status is; but never longer than
        // EVENT_MAX_HOLD_MS (constant churn, EndpointSlices in a big cluster, must not hold Events for ever).
        this.eventsHeldSince ??= performance.now();
        const overdue = () => performance.now() - (this.eventsHeldSince ?? 0) >= EVENT_MAX_HOLD_MS;
        while (this.apiPending === null && this.elector.leading && performance.now() - this.lastChangeAt < EVENT_QUIET_MS && !overdue())
          await new Promise<void>((r) => {
            this.wakeApi = r; // a newer table ends the wait at once
            setTimeout(r, 100);
          });
        this.wakeApi = null;
        if (this.apiPending !== null && !overdue()) continue;
        const forced = overdue();
        this.eventsHeldSince = null;
        await this.eventRound(r, ings, forced);
      }
      this.apiRunning = false;
    })();
  }

  /** Sends the due Events in chunks, stopping between two chunks when a newer table waits (its status round
   * comes first, then the Events still due, computed again from it). A round that started on a quiet watch stops
   * sending as soon as the watch reports a change (the Events in flight finish): the change's compile, publish and
   * the workers' load then share neither the apiserver nor this event loop with a chunk of Events, which after a
   * bulk of new Ingresses held the first lone changes back by 50-200 ms (bench/RESULTS.md, "Control plane: one
   * change"); the Events still due go in the next round. A `forced` round (it waited EVENT_MAX_HOLD_MS under
   * constant churn) sends its first chunk whole, so it still makes progress. */
  private async eventRound(result: CompileResult, ingresses: readonly Ingress[], forced: boolean): Promise<void> {
    const startedAt = performance.now();
    const yieldToChange = (chunk: number) => this.lastChangeAt > startedAt && !(forced && chunk === 0);
    try {
      if (!this.events.loaded) await this.events.load();
    } catch (err) {
      // Not knowing what was sent, send nothing: a storm of repeats is worse than Events that wait for the next change.
      this.apiError(`Event ledger ${this.events.name}`, err as Error);
      return;
    }
    // Deposed meanwhile: the new leader owns the ledger now (every store below is refused too, EventLedger.store).
    if (!this.elector.leading) return;
    const controller = this.compileOptions.controller;
    this.events.retain(currentEventKeys(result, ingresses, controller)); // bounded by the objects, not their history
    const due = dueEvents(result, ingresses, this.events, controller);
    let stored = performance.now();
    let sent = 0;
    for (let i = 0; i < due.length && (i === 0 || this.apiPending === null) && this.elector.leading; i += EVENT_CHUNK) {
      if (yieldToChange(i)) break;
      await runLimited(
        due.slice(i, i + EVENT_CHUNK).map((e) => async () => {
          if (yieldToChange(i)) return; // left due: sent by the next round
          await emitEvent(this.rest, e, this.o.identity).then(
            () => {
              sent++;
              this.events.add(e.key);
            },
            (err: Error) => this.apiError('event', err),
          );
        }),
        API_CONCURRENCY,
      );
      if (sent === 0) break; // none went through: failing Events wait for the next change
      if (performance.now() - stored >= EVENT_LEDGER_EVERY_MS) {
        await this.storeEvents();
        stored = performance.now();
      }
    }
    await this.storeEvents();
  }

  private async storeEvents(): Promise<void> {
    try {
      await this.events.store();
    } catch (err) {
      this.apiError(`Event ledger ${this.events.name}`, err as Error);
    }
  }

  private apiError(what: string, err: Error): void {
    this.stats.apiWriteErrors++;
    this.o.log('warn', `${what} write failed: ${err.message}`);
  }

  async stop(): Promise<void> {
    this.bursts.cancel();
    this.standby.cancel();
    if (this.authRefresh !== null) clearInterval(this.authRefresh);
    if (this.jwksRefresh !== null) clearInterval(this.jwksRefresh);
    await this.elector.stop();
    await this.watch.stop();
    await this.passes.idle();
  }
}
