import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { parsePrometheusText } from '../../../test/support/prom-text.ts';
import { statusClass } from '../../ports/metrics.ts';
import { NOTICE_TO_REMOVED_BUCKETS, createPrometheusMetrics } from './prometheus.ts';

describe('Prometheus metrics adapter', () => {
  it('exports what the agent records, in the text format, with bounded labels', async () => {
    const m = createPrometheusMetrics({ now: () => 0 });
    m.decision('add-self-as-learner', 'progressed');
    m.decision('wait', 'waited');
    m.decision('wait', 'waited');
    m.decision('remove-member', 'refused');
    m.membershipChange('remove', 'self-leave');
    m.membershipChange('add-learner', 'join');
    m.noticeToRemoved(0.3);
    m.noticeToRemoved(45);
    m.cloudApiCall('GET /aws/ec2/group/{id}/status', '2xx');
    m.cloudApiCall('GET /aws/ec2/group/{id}/status', '2xx');
    m.cloudApiCall('POST /aws/ec2/instance/signal', '429');
    m.cycleSucceeded(1_796_040_000_500);
    m.etcdReachable(true);
    m.leaderAgent(true);
    m.stateFileReadable(false);
    m.ready(true);
    m.noticePending(12.5);

    assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
    const s = parsePrometheusText(await m.text());
    assert.equal(s.value('etcd_spot_decisions_total', { action: 'wait', outcome: 'waited' }), 2);
    assert.equal(
      s.value('etcd_spot_decisions_total', { action: 'add-self-as-learner', outcome: 'progressed' }),
      1,
    );
    assert.equal(s.value('etcd_spot_decisions_total', { action: 'remove-member', outcome: 'refused' }), 1);
    assert.equal(s.value('etcd_spot_membership_changes_total', { change: 'remove', why: 'self-leave' }), 1);
    assert.equal(s.value('etcd_spot_membership_changes_total', { change: 'add-learner', why: 'join' }), 1);
    assert.equal(s.value('etcd_spot_notice_to_removed_seconds_count'), 2);
    assert.equal(s.value('etcd_spot_notice_to_removed_seconds_sum'), 45.3);
    assert.equal(s.value('etcd_spot_notice_to_removed_seconds_bucket', { le: '0.5' }), 1);
    assert.equal(s.value('etcd_spot_notice_to_removed_seconds_bucket', { le: '60' }), 2);
    assert.equal(
      s.value('etcd_spot_cloud_api_calls_total', { route: 'GET /aws/ec2/group/{id}/status', status: '2xx' }),
      2,
    );
    assert.equal(
      s.value('etcd_spot_cloud_api_calls_total', { route: 'POST /aws/ec2/instance/signal', status: '429' }),
      1,
    );
    assert.equal(s.value('etcd_spot_last_cycle_success_timestamp_seconds'), 1_796_040_000.5);
    assert.equal(s.value('etcd_spot_etcd_reachable'), 1);
    assert.equal(s.value('etcd_spot_is_leader_agent'), 1);
    assert.equal(s.value('etcd_spot_state_file_readable'), 0);
    assert.equal(s.value('etcd_spot_ready'), 1);
    assert.equal(s.value('etcd_spot_notice_pending_seconds'), 12.5);
    assert.equal(s.types.get('etcd_spot_notice_to_removed_seconds'), 'histogram');
    assert.equal(s.types.get('etcd_spot_decisions_total'), 'counter');
    assert.ok((s.value('process_resident_memory_bytes') ?? 0) > 0);

    for (const sample of s.samples) {
      assert.match(sample.name, /^(etcd_spot_|process_)/, sample.name);
      for (const key of Object.keys(sample.labels))
        assert.ok(['action', 'outcome', 'change', 'why', 'route', 'status', 'le'].includes(key), key);
    }
    // Every histogram bucket is exported, +Inf included.
    const buckets = s.samples.filter((x) => x.name === 'etcd_spot_notice_to_removed_seconds_bucket');
    assert.equal(buckets.length, NOTICE_TO_REMOVED_BUCKETS.length + 1);
  });

  it('gauges flip back and a nonsense duration is not observed', async () => {
    const m = createPrometheusMetrics({ now: () => 0, processMetrics: false });
    m.etcdReachable(true);
    m.etcdReachable(false);
    m.leaderAgent(true);
    m.leaderAgent(false);
    m.noticeToRemoved(-1);
    m.noticeToRemoved(Number.NaN);
    const s = parsePrometheusText(await m.text());
    assert.equal(s.value('etcd_spot_etcd_reachable'), 0);
    assert.equal(s.value('etcd_spot_is_leader_agent'), 0);
    assert.equal(s.value('etcd_spot_notice_to_removed_seconds_count'), 0);
    assert.equal(s.value('process_resident_memory_bytes'), undefined);
  });

  it('exports the snapshot age only with a snapshot source: +Inf while there is none, then seconds', async () => {
    const without = parsePrometheusText(await createPrometheusMetrics({ now: () => 0 }).text());
    assert.equal(without.types.has('etcd_spot_snapshot_age_seconds'), false);

    let now = 1_000_000;
    let takenAt: number | undefined = undefined;
    const m = createPrometheusMetrics({ now: () => now, snapshotTakenAt: () => takenAt });
    assert.equal(parsePrometheusText(await m.text()).value('etcd_spot_snapshot_age_seconds'), Infinity);
    takenAt = 940_000;
    assert.equal(parsePrometheusText(await m.text()).value('etcd_spot_snapshot_age_seconds'), 60);
    now = 1_090_000;
    assert.equal(parsePrometheusText(await m.text()).value('etcd_spot_snapshot_age_seconds'), 150);
  });

  it('each agent gets its own registry; nothing goes to prom-client’s global one', async () => {
    const a = createPrometheusMetrics({ now: () => 0 });
    const b = createPrometheusMetrics({ now: () => 0 });
    a.decision('bootstrap', 'progressed');
    const sb = parsePrometheusText(await b.text());
    assert.equal(
      sb.value('etcd_spot_decisions_total', { action: 'bootstrap', outcome: 'progressed' }),
      undefined,
    );
    const sa = parsePrometheusText(await a.text());
    assert.equal(sa.value('etcd_spot_decisions_total', { action: 'bootstrap', outcome: 'progressed' }), 1);
    const require = createRequire(import.meta.url);
    const { globalRegistry } = require('prom-client/lib/registry') as {
      globalRegistry: { getMetricsAsArray(): unknown[] };
    };
    assert.deepEqual(globalRegistry.getMetricsAsArray(), []);
  });

  it('does not load prom-client’s default collectors (they pull in @opentelemetry/api, ~5 MB of RSS)', () => {
    createPrometheusMetrics({ now: () => 0 });
    const require = createRequire(import.meta.url);
    const loaded = Object.keys(require.cache);
    assert.ok(
      loaded.some((p) => p.includes('prom-client')),
      'prom-client was loaded',
    );
    assert.deepEqual(
      loaded.filter((p) => p.includes('@opentelemetry') || p.endsWith('defaultMetrics.js')),
      [],
    );
  });

  it('reduces a cloud answer to a status class', () => {
    assert.deepEqual(
      [200, 204, 301, 400, 401, 404, 429, 500, 503, 'timeout' as const, 'unreachable' as const].map(
        statusClass,
      ),
      ['2xx', '2xx', '3xx', '4xx', '4xx', '4xx', '429', '5xx', '5xx', 'timeout', 'unreachable'],
    );
  });
});
