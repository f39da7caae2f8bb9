/**
 * Termination notices read from instance metadata, polled the way aws-node-termination-handler does
 * (cloud-apis.md §2.7): 404 means "no notice", a payload that cannot be understood is an error (never
 * read as "no notice" nor as a notice). `seenAt` is when this source first saw the current notice.
 */
import { MalformedResponseError } from '../../core/errors.ts';
import type { Clock } from '../../ports/clock.ts';
import type { InstanceMetadata } from '../../ports/instance-metadata.ts';
import type { TerminationNotice, TerminationSource } from '../../ports/termination-source.ts';

export interface ImdsSourceOptions {
  metadata: InstanceMetadata;
  clock: Clock;
}

export const SPOT_INSTANCE_ACTION_PATH = 'spot/instance-action';
export const ASG_TARGET_LIFECYCLE_PATH = 'autoscaling/target-lifecycle-state';
export const REBALANCE_PATH = 'events/recommendations/rebalance';

/** Remembers when the current notice was first seen; forgets it when the notice goes away. */
function firstSeen(clock: Clock) {
  let at: number | undefined;
  return {
    mark: () => (at ??= clock.now()),
    clear: () => {
      at = undefined;
    },
  };
}

function parseJsonObject(text: string, path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new MalformedResponseError(`IMDS ${path} is not JSON: ${JSON.stringify(text.slice(0, 200))}`, err);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new MalformedResponseError(
      `IMDS ${path} is not a JSON object: ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  return v as Record<string, unknown>;
}

function parseTime(value: unknown, field: string, path: string, raw: string): number {
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(t)) {
    throw new MalformedResponseError(
      `IMDS ${path}: '${field}' is not a time: ${JSON.stringify(raw.slice(0, 200))}`,
    );
  }
  return t;
}

/** `spot/instance-action`: the EC2 spot interruption notice, with the interruption time as deadline. */
export function createImdsSpotSource(opts: ImdsSourceOptions): TerminationSource {
  const seen = firstSeen(opts.clock);
  return {
    name: 'imds-spot',
    async poll(signal?: AbortSignal): Promise<TerminationNotice | null> {
      const body = await opts.metadata.get(SPOT_INSTANCE_ACTION_PATH, signal);
      if (body === undefined) {
        seen.clear();
        return null;
      }
      const obj = parseJsonObject(body, SPOT_INSTANCE_ACTION_PATH);
      if (typeof obj.action !== 'string' || obj.action === '') {
        throw new MalformedResponseError(
          `IMDS ${SPOT_INSTANCE_ACTION_PATH} has no action: ${JSON.stringify(body.slice(0, 200))}`,
        );
      }
      const deadline = parseTime(obj.time, 'time', SPOT_INSTANCE_ACTION_PATH, body);
      return {
        source: 'imds-spot',
        seenAt: seen.mark(),
        deadline,
        detail: `instance-action action=${obj.action} time=${String(obj.time)}`,
      };
    },
  };
}

/** `autoscaling/target-lifecycle-state`: `Terminated` means scale-in or replacement has begun. */
export function createImdsAsgLifecycleSource(opts: ImdsSourceOptions): TerminationSource {
  const seen = firstSeen(opts.clock);
  return {
    name: 'imds-asg-lifecycle',
    async poll(signal?: AbortSignal): Promise<TerminationNotice | null> {
      const body = await opts.metadata.get(ASG_TARGET_LIFECYCLE_PATH, signal);
      if (body === undefined || body.trim() !== 'Terminated') {
        seen.clear();
        return null;
      }
      return {
        source: 'imds-asg-lifecycle',
        seenAt: seen.mark(),
        detail: 'target-lifecycle-state=Terminated',
      };
    },
  };
}

/** `events/recommendations/rebalance`: advisory only; it never makes a member leave by itself. */
export function createImdsRebalanceSource(opts: ImdsSourceOptions): TerminationSource {
  const seen = firstSeen(opts.clock);
  return {
    name: 'imds-rebalance',
    async poll(signal?: AbortSignal): Promise<TerminationNotice | null> {
      const body = await opts.metadata.get(REBALANCE_PATH, signal);
      if (body === undefined) {
        seen.clear();
        return null;
      }
      const obj = parseJsonObject(body, REBALANCE_PATH);
      parseTime(obj.noticeTime, 'noticeTime', REBALANCE_PATH, body);
      return {
        source: 'imds-rebalance',
        seenAt: seen.mark(),
        detail: `rebalance recommendation noticeTime=${String(obj.noticeTime)}`,
        advisory: true,
      };
    },
  };
}

/** All three IMDS sources. */
export function createImdsTerminationSources(opts: ImdsSourceOptions): TerminationSource[] {
  return [createImdsSpotSource(opts), createImdsAsgLifecycleSource(opts), createImdsRebalanceSource(opts)];
}
