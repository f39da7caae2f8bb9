/** An {@link AgentMetrics} that records nothing: for tests and for `plan`, which must not load prom-client. */
import type { AgentMetrics } from '../../ports/metrics.ts';

export const noopMetrics: AgentMetrics = {
  decision: () => undefined,
  membershipChange: () => undefined,
  noticeToRemoved: () => undefined,
  cloudApiCall: () => undefined,
  cycleSucceeded: () => undefined,
  etcdReachable: () => undefined,
  leaderAgent: () => undefined,
  stateFileReadable: () => undefined,
  ready: () => undefined,
  noticePending: () => undefined,
};
