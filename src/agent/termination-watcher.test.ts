import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NoticeView } from '../core/observation.ts';
import type { TerminationNotice, TerminationSource } from '../ports/termination-source.ts';
import { ManualClock } from '../../test/support/manual-clock.ts';
import { recordingLogger } from './testing/fakes.ts';
import { TerminationWatcher } from './termination-watcher.ts';

/** A source whose next answers are scripted: a notice, null, or an error. */
class ScriptedSource implements TerminationSource {
  readonly name: string;
  readonly minIntervalMs?: number;
  answer: TerminationNotice | null | Error = null;
  polls = 0;
  constructor(name: string, minIntervalMs?: number) {
    this.name = name;
    if (minIntervalMs !== undefined) this.minIntervalMs = minIntervalMs;
  }
  async poll(): Promise<TerminationNotice | null> {
    this.polls++;
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
}

describe('TerminationWatcher', () => {
  it('polls a source with minIntervalMs no more often than that (± jitter), the others every round', async () => {
    const clock = new ManualClock(1000);
    const imds = new ScriptedSource('imds-spot');
    const cloud = new ScriptedSource('spot-api', 30_000);
    const w = new TerminationWatcher({
      sources: [imds, cloud],
      clock,
      logger: recordingLogger(),
      intervalMs: 5000,
      random: () => 0.5, // no jitter
    });
    for (let i = 0; i < 12; i++) {
      await w.pollOnce();
      await clock.advance(5000);
    }
    assert.equal(imds.polls, 12);
    assert.equal(cloud.polls, 2, 'at 0 s and 30 s of 55 s');
  });

  it('keeps the first seenAt, calls onNotice once, drops a withdrawn notice', async () => {
    const clock = new ManualClock(1000);
    const src = new ScriptedSource('imds-spot');
    const seen: NoticeView[] = [];
    const w = new TerminationWatcher({
      sources: [src],
      clock,
      logger: recordingLogger(),
      intervalMs: 100,
      onNotice: (n) => seen.push(n),
    });
    await w.pollOnce();
    assert.deepEqual(w.view(), { notices: [], errors: [] });

    src.answer = { source: 'imds-spot', seenAt: 1000, deadline: 121_000, detail: 'terminate' };
    await w.pollOnce();
    await clock.advance(500);
    src.answer = { source: 'imds-spot', seenAt: 1500, deadline: 121_000, detail: 'terminate' };
    await w.pollOnce();
    assert.deepEqual(w.view().notices, [
      { source: 'imds-spot', seenAt: 1000, deadline: 121_000, detail: 'terminate' },
    ]);
    assert.equal(seen.length, 1);

    src.answer = null;
    await w.pollOnce();
    assert.deepEqual(w.view().notices, []);
  });

  it('a wall clock stepped back after the notice does not push its deadline out (the time that really passed counts)', async () => {
    const clock = new ManualClock(1000);
    const src = new ScriptedSource('imds-spot');
    const logger = recordingLogger();
    const w = new TerminationWatcher({ sources: [src], clock, logger, intervalMs: 1000 });
    src.answer = { source: 'imds-spot', seenAt: 1000, deadline: 121_000, detail: 'terminate' };
    await w.pollOnce();
    const left = () => (w.view().notices[0]?.deadline ?? NaN) - clock.now();
    assert.equal(left(), 120_000);

    // 10 s really pass, and the host clock is stepped back 30 s (e.g. an NTP correction).
    await clock.advance(10_000);
    clock.step(-30_000);
    await w.pollOnce(); // the same absolute deadline again
    assert.equal(left(), 110_000, 'by the absolute deadline it would read 140 s');
    assert.equal(logger.entries.filter((e) => /wall clock stepped back/.test(e.msg ?? '')).length, 1);

    // Stepped forward instead: the cloud's deadline, now the nearer one, stands.
    clock.step(+60_000);
    assert.equal(w.view().notices[0]?.deadline, 121_000);
    assert.equal(left(), 121_000 - clock.now());

    // A new deadline from the source (e.g. a lifecycle hook extended) is taken as it comes.
    src.answer = { source: 'imds-spot', seenAt: 1000, deadline: clock.now() + 300_000, detail: 'terminate' };
    await w.pollOnce();
    assert.equal(left(), 300_000);
  });

  it('an error keeps the last answer and is listed', async () => {
    const clock = new ManualClock();
    const a = new ScriptedSource('spot-api');
    const b = new ScriptedSource('imds-spot');
    const w = new TerminationWatcher({ sources: [a, b], clock, logger: recordingLogger(), intervalMs: 100 });
    a.answer = { source: 'spot-api', seenAt: clock.now(), detail: 'lifeCycleState=TERMINATING' };
    await w.pollOnce();
    a.answer = new Error('HTTP 503');
    b.answer = new Error('connect ECONNREFUSED');
    await w.pollOnce();
    const v = w.view();
    assert.equal(v.notices.length, 1, 'an error is never read as "no notice"');
    assert.deepEqual(v.errors, ['spot-api: HTTP 503', 'imds-spot: connect ECONNREFUSED']);
    a.answer = null;
    b.answer = null;
    await w.pollOnce();
    assert.deepEqual(w.view(), { notices: [], errors: [] });
  });

  it('keeps advisory notices marked as such', async () => {
    const src = new ScriptedSource('imds-rebalance');
    src.answer = { source: 'imds-rebalance', seenAt: 5, detail: 'rebalance', advisory: true };
    const w = new TerminationWatcher({
      sources: [src],
      clock: new ManualClock(),
      logger: recordingLogger(),
      intervalMs: 100,
    });
    await w.pollOnce();
    assert.equal(w.view().notices[0]?.advisory, true);
  });

  it('polls on its interval with jitter, and stops', async () => {
    const clock = new ManualClock();
    const src = new ScriptedSource('s');
    // random() = 1 → +10 % jitter: the next poll is due after 110 ms.
    const w = new TerminationWatcher({
      sources: [src],
      clock,
      logger: recordingLogger(),
      intervalMs: 100,
      random: () => 0.999999,
    });
    w.start();
    await new Promise((r) => setImmediate(r));
    assert.equal(src.polls, 1);
    await clock.advance(105);
    assert.equal(src.polls, 1, 'not before the jittered interval');
    await clock.advance(10);
    await new Promise((r) => setImmediate(r));
    assert.equal(src.polls, 2);
    await w.stop();
    await clock.advance(1000);
    assert.equal(src.polls, 2, 'no poll after stop');
  });
});
