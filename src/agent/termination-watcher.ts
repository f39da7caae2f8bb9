/**
 * Polls every TerminationSource on its own schedule (terminationPollIntervalMs ± jitter, or the source's
 * slower `minIntervalMs` ± jitter: a cloud API's own status call) and keeps the
 * merged view for the agent's observation. A source that errors keeps its last answer (an error is
 * never read as "no notice") and is listed in `errors`. The first time a notice appears, `onNotice`
 * wakes the agent's loop at once.
 *
 * A notice's deadline is the cloud's absolute time. The agent compares it with its own wall clock, so
 * a clock stepped back after the notice came would make the deadline look further away, and row B4a
 * (stay until the replacement takes over) could wait past the real one. The view therefore never shows
 * a deadline later than what was left when the notice came minus the time that really passed since
 * (the clock's monotonic reading). A wall clock that was already wrong when the notice came is not
 * corrected (nothing here knows the true time).
 */
import { describeError } from '../core/errors.ts';
import type { NoticeView, TerminationView } from '../core/observation.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { TerminationNotice, TerminationSource } from '../ports/termination-source.ts';
import { withDeadline } from './deadline.ts';

export interface TerminationWatcherOptions {
  sources: TerminationSource[];
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  /** Deadline of one poll of one source (default: the interval, at most 5 s). */
  timeoutMs?: number;
  /** Fraction of the interval to jitter by (default 0.1: ±10 %). */
  jitter?: number;
  /** Randomness in [0, 1) for the jitter (injected for tests). */
  random?: () => number;
  onNotice?: (notice: NoticeView) => void;
}

export class TerminationWatcher {
  private readonly opts: TerminationWatcherOptions;
  private readonly notices = new Map<string, NoticeView>();
  private readonly errors = new Map<string, string>();
  private stopper: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private polls = 0;
  /** Per source with `minIntervalMs`: not polled again before this time. */
  private readonly nextPollAt = new Map<string, number>();
  /** Per notice with a deadline: what was left of it when it came, and the monotonic time then. */
  private readonly anchors = new Map<string, { deadline: number; leftMs: number; monoAt: number }>();
  /** Notices whose deadline was already pulled in by a clock step (logged once each). */
  private readonly stepLogged = new Set<string>();

  constructor(opts: TerminationWatcherOptions) {
    this.opts = opts;
  }

  /**
   * The merged view: current notices (first seenAt kept, deadlines never later than the time that really
   * passed allows) and the sources that failed on their last poll.
   */
  view(): TerminationView {
    return {
      notices: [...this.notices.entries()].map(([key, n]) => this.guarded(key, n)),
      errors: [...this.errors.entries()].map(([source, error]) => `${source}: ${error}`),
    };
  }

  private monotonic(): number {
    return this.opts.clock.monotonic?.() ?? this.opts.clock.now();
  }

  private guarded(key: string, n: NoticeView): NoticeView {
    const a = this.anchors.get(key);
    if (n.deadline === undefined || a === undefined) return { ...n };
    const now = this.opts.clock.now();
    const byElapsed = Math.round(now + a.leftMs - (this.monotonic() - a.monoAt));
    if (byElapsed >= n.deadline) return { ...n };
    if (n.deadline - byElapsed > 1000 && !this.stepLogged.has(key)) {
      this.stepLogged.add(key);
      this.opts.logger.warn(
        { source: n.source, deadline: n.deadline, byElapsed },
        'wall clock stepped back since the termination notice: its deadline is taken from the time that really passed',
      );
    }
    return { ...n, deadline: byElapsed };
  }

  /** Number of completed poll rounds (for status and tests). */
  pollCount(): number {
    return this.polls;
  }

  /** Polls every source once, in parallel. Never throws. */
  async pollOnce(signal?: AbortSignal): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? Math.min(this.opts.intervalMs, 5000);
    const now = this.opts.clock.now();
    const random = this.opts.random ?? Math.random;
    const jitter = this.opts.jitter ?? 0.1;
    await Promise.all(
      this.opts.sources.map(async (source) => {
        if (source.minIntervalMs !== undefined) {
          if (now < (this.nextPollAt.get(source.name) ?? -Infinity)) return;
          const gap = source.minIntervalMs * (1 + jitter * (2 * random() - 1));
          this.nextPollAt.set(source.name, now + Math.round(gap));
        }
        const sig = withDeadline(timeoutMs, signal);
        let notice: TerminationNotice | null;
        try {
          notice = await source.poll(sig);
        } catch (err) {
          if (signal?.aborted) return;
          const text = describeError(err);
          if (this.errors.get(source.name) !== text)
            this.opts.logger.warn({ source: source.name, err: text }, 'termination source failed');
          this.errors.set(source.name, text);
          return;
        }
        this.errors.delete(source.name);
        this.record(source.name, notice);
      }),
    );
    this.polls++;
  }

  private record(sourceName: string, notice: TerminationNotice | null): void {
    const key = sourceName;
    const previous = this.notices.get(key);
    if (notice === null) {
      if (previous) {
        this.opts.logger.info({ source: sourceName }, 'termination notice withdrawn');
        this.notices.delete(key);
        this.anchors.delete(key);
        this.stepLogged.delete(key);
      }
      return;
    }
    if (notice.deadline === undefined) this.anchors.delete(key);
    else if (this.anchors.get(key)?.deadline !== notice.deadline)
      this.anchors.set(key, {
        deadline: notice.deadline,
        leftMs: notice.deadline - this.opts.clock.now(),
        monoAt: this.monotonic(),
      });
    const view: NoticeView = {
      source: notice.source || sourceName,
      seenAt: previous?.seenAt ?? (notice.seenAt || this.opts.clock.now()),
      detail: notice.detail,
    };
    if (notice.deadline !== undefined) view.deadline = notice.deadline;
    if (notice.advisory) view.advisory = true;
    this.notices.set(key, view);
    if (!previous) {
      this.opts.logger.warn(
        {
          source: view.source,
          deadline: view.deadline,
          advisory: view.advisory ?? false,
          detail: view.detail,
        },
        'termination notice',
      );
      try {
        this.opts.onNotice?.(view);
      } catch (err) {
        this.opts.logger.error({ err: describeError(err) }, 'onNotice callback failed');
      }
    }
  }

  /** Starts polling in the background (first poll at once). */
  start(): void {
    if (this.loop) return;
    const stopper = new AbortController();
    this.stopper = stopper;
    this.loop = this.run(stopper.signal);
  }

  async stop(): Promise<void> {
    this.stopper?.abort(new Error('termination watcher stopped'));
    await this.loop;
    this.loop = undefined;
    this.stopper = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const random = this.opts.random ?? Math.random;
    const jitter = this.opts.jitter ?? 0.1;
    while (!signal.aborted) {
      await this.pollOnce(signal);
      const delay = this.opts.intervalMs * (1 + jitter * (2 * random() - 1));
      try {
        await this.opts.clock.sleep(Math.max(0, Math.round(delay)), signal);
      } catch {
        return;
      }
    }
  }
}
