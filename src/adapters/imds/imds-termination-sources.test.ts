import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createImdsAsgLifecycleSource,
  createImdsRebalanceSource,
  createImdsSpotSource,
  createImdsTerminationSources,
} from './imds-termination-sources.ts';
import { createImds } from './imds.ts';
import type { InstanceMetadata } from '../../ports/instance-metadata.ts';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { MalformedResponseError, MetadataError } from '../../core/errors.ts';
import { startHttpStub } from '../testing/http-stub.ts';
import type { HttpStub } from '../testing/http-stub.ts';
import { recordingLogger } from '../testing/recording-logger.ts';

/** In-memory metadata: a path maps to its body, an Error (thrown) or nothing (404). */
function metadata(paths: Record<string, string | Error>): InstanceMetadata {
  return {
    identity: async () => ({ instanceId: 'i-1', privateIp: '10.0.0.1' }),
    get: async (path) => {
      const v = paths[path];
      if (v instanceof Error) throw v;
      return v;
    },
  };
}

test('imds-spot: 404 → null; a notice carries the parsed time as deadline and the first-seen time', async () => {
  const paths: Record<string, string | Error> = {};
  const clock = new ManualClock();
  const src = createImdsSpotSource({ metadata: metadata(paths), clock });
  assert.equal(src.name, 'imds-spot');
  assert.equal(await src.poll(), null);
  paths['spot/instance-action'] = '{"action": "terminate", "time": "2026-01-01T00:02:00Z"}';
  const first = clock.now();
  assert.deepEqual(await src.poll(), {
    source: 'imds-spot',
    seenAt: first,
    deadline: Date.parse('2026-01-01T00:02:00Z'),
    detail: 'instance-action action=terminate time=2026-01-01T00:02:00Z',
  });
  await clock.advance(5000);
  assert.equal((await src.poll())?.seenAt, first, 'seenAt stays the first sighting');
  delete paths['spot/instance-action'];
  assert.equal(await src.poll(), null);
  paths['spot/instance-action'] = '{"action": "stop", "time": "2026-01-01T00:09:00Z"}';
  assert.equal((await src.poll())?.seenAt, clock.now(), 'a new notice after none is seen anew');
});

test('imds-spot: unparsable payloads are MalformedResponseError, never null', async () => {
  for (const body of [
    '<html>',
    '"terminate"',
    '{"action":"terminate"}',
    '{"action":"terminate","time":"soon"}',
    '{"time":"2026-01-01T00:02:00Z"}',
  ]) {
    const src = createImdsSpotSource({
      metadata: metadata({ 'spot/instance-action': body }),
      clock: new ManualClock(),
    });
    await assert.rejects(src.poll(), MalformedResponseError, body);
  }
});

test('imds-asg-lifecycle: Terminated → notice; other values and 404 → null', async () => {
  const paths: Record<string, string | Error> = {};
  const clock = new ManualClock();
  const src = createImdsAsgLifecycleSource({ metadata: metadata(paths), clock });
  assert.equal(await src.poll(), null);
  for (const v of ['InService', 'Standby', 'Warmed:Terminated', 'Detached']) {
    paths['autoscaling/target-lifecycle-state'] = v;
    assert.equal(await src.poll(), null, v);
  }
  paths['autoscaling/target-lifecycle-state'] = 'Terminated\n';
  assert.deepEqual(await src.poll(), {
    source: 'imds-asg-lifecycle',
    seenAt: clock.now(),
    detail: 'target-lifecycle-state=Terminated',
  });
});

test('imds-rebalance: advisory notice; 404 → null; garbage → MalformedResponseError', async () => {
  const paths: Record<string, string | Error> = {};
  const clock = new ManualClock();
  const src = createImdsRebalanceSource({ metadata: metadata(paths), clock });
  assert.equal(await src.poll(), null);
  paths['events/recommendations/rebalance'] = '{"noticeTime": "2026-01-01T00:00:00Z"}';
  assert.deepEqual(await src.poll(), {
    source: 'imds-rebalance',
    seenAt: clock.now(),
    detail: 'rebalance recommendation noticeTime=2026-01-01T00:00:00Z',
    advisory: true,
  });
  paths['events/recommendations/rebalance'] = '{}';
  await assert.rejects(src.poll(), MalformedResponseError);
});

test('metadata errors propagate (an error is never read as "no notice")', async () => {
  const err = new MetadataError('down', { retryable: true });
  const m = metadata({
    'spot/instance-action': err,
    'autoscaling/target-lifecycle-state': err,
    'events/recommendations/rebalance': err,
  });
  const sources = createImdsTerminationSources({ metadata: m, clock: new ManualClock() });
  assert.deepEqual(
    sources.map((s) => s.name),
    ['imds-spot', 'imds-asg-lifecycle', 'imds-rebalance'],
  );
  for (const s of sources) await assert.rejects(s.poll(), /down/);
});

let server: HttpStub | undefined;
after(async () => server?.close());

test('imds-spot over a real IMDS stub, AEMM-style payload', async () => {
  server = await startHttpStub((req, res) => {
    if (req.method === 'PUT') return void res.writeHead(200).end('tok');
    if (req.url === '/latest/meta-data/spot/instance-action') {
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"action":"terminate","time":"2026-01-01T00:02:00Z"}');
    }
    res.writeHead(404).end('<title>404 - Not Found</title>');
  });
  const clock = new ManualClock();
  const m = createImds({
    url: server.url,
    requireV2: true,
    timeoutMs: 1000,
    tokenTtlSec: 60,
    clock,
    logger: recordingLogger(),
  });
  const [spot, asg, rebalance] = createImdsTerminationSources({ metadata: m, clock });
  assert.equal((await spot?.poll())?.deadline, Date.parse('2026-01-01T00:02:00Z'));
  assert.equal(await asg?.poll(), null);
  assert.equal(await rebalance?.poll(), null);
});
