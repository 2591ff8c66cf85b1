// The agent's own readiness and metrics, for its admin listener (/readyz, /metrics): what a replica is doing
// (syncing, leading, standing by) and what it has published.
import { single, type MetricFamily } from '../gateway/shared/prometheus.ts';
import type { Readiness } from '../gateway/shared/readiness.ts';
import { NOT_SELECTED_REASONS, classSelectionMessage } from './compile/class-report.ts';
import type { KubeAgent } from './kube/agent.ts';
import type { PublishLoop } from './publish/loop.ts';

/** Ready once something is published (a standby replica is ready too: it serves nothing, it waits). */
export function publisherReadiness(loop: PublishLoop): Readiness {
  return { ready: loop.published !== null, detail: loop.published ? `published ${loop.published}` : 'nothing published yet' };
}

/** Ready or not, the detail says when no Ingress is served because of the class flags (class-report.ts): a
 * gateway that serves nothing is working as configured, so it stays ready, but it says why. */
export function agentReadiness(agent: KubeAgent, loop: PublishLoop): Readiness {
  const r = agentReadinessOnly(agent, loop);
  const classes = agent.classes === null ? null : classSelectionMessage(agent.classes);
  return classes === null ? r : { ...r, detail: `${r.detail}; ${classes}` };
}

function agentReadinessOnly(agent: KubeAgent, loop: PublishLoop): Readiness {
  if (!agent.watch.synced) return { ready: false, detail: 'informers not synced yet' };
  if (agent.elector.lastError !== null && !agent.elector.leading)
    return { ready: false, detail: `cannot take part in leader election: ${agent.elector.lastError}` };
  if (!agent.elector.leading) return { ready: true, detail: 'standby (another replica holds the lease)' };
  return {
    ready: loop.published !== null,
    detail: loop.published ? `leader; published ${loop.published}` : 'leader; nothing published yet',
  };
}

export function publisherMetrics(loop: PublishLoop): MetricFamily[] {
  return [
    single('portico_sync_publishes_total', 'counter', 'Tables published to Redis.', loop.publishes),
    single('portico_sync_redis_connected', 'gauge', 'Whether the agent is connected to Redis.', loop.connected ? 1 : 0),
    single(
      'portico_sync_publish_fenced_total',
      'counter',
      'Publishes Redis refused because an agent of a newer lease term published (this replica was deposed).',
      loop.fence.refusals,
    ),
  ];
}

export function agentMetrics(agent: KubeAgent): MetricFamily[] {
  return [
    single('portico_sync_leader', 'gauge', 'Whether this replica holds the lease.', agent.elector.leading ? 1 : 0),
    {
      name: 'portico_sync_compiles_total',
      type: 'counter',
      help: 'Compiles by kind: full, or incremental (only the hosts a change touched).',
      samples: [
        { labels: { kind: 'full' }, value: agent.stats.fullCompiles },
        { labels: { kind: 'incremental' }, value: agent.stats.incrementalCompiles },
      ],
    },
    single('portico_sync_last_compile_seconds', 'gauge', 'Duration of the last compile.', agent.stats.lastCompileMs / 1000),
    single('portico_sync_informer_restarts_total', 'counter', 'Informers restarted after an error.', agent.watch.restarts),
    single('portico_sync_rewatches_total', 'counter', 'Watches re-opened on schedule (--rewatch).', agent.watch.rewatches),
    {
      name: 'portico_ingresses_not_selected',
      type: 'gauge',
      help: 'Ingresses not served because of their class, by reason (ingress-class-name, legacy-annotation, no-class); --serve-class or --watch-ingress-without-class selects them.',
      samples: NOT_SELECTED_REASONS.map((reason) => ({ labels: { reason }, value: agent.classes?.notSelected[reason] ?? 0 })),
    },
    single('portico_sync_status_writes_total', 'counter', 'Ingress status writes (set or cleared).', agent.stats.statusWrites),
    single('portico_sync_api_write_errors_total', 'counter', 'Failed status or event writes.', agent.stats.apiWriteErrors),
    single(
      'portico_sync_diagnostics',
      'gauge',
      'Diagnostics of the last compile (Warnings and Infos; each is also an Event).',
      agent.result?.diagnostics.length ?? 0,
    ),
  ];
}
