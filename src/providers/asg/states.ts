/**
 * Auto Scaling `LifecycleState` → what it means for etcd membership (cloud-apis.md §3.4). Pure; the
 * mapping is documented in docs/design.md ("Providers") and docs/deploy.md.
 *
 * | LifecycleState | class | listed for the planner | self may join |
 * |---|---|---|---|
 * | `InService` | running | yes | yes |
 * | `Terminating`, `Terminating:Wait`, `Terminating:Proceed` | terminating | yes (still running; its member is leaving) | no: it leaves |
 * | `Detaching` | terminating (leaving the group: the member leaves, like a scale-in) | yes | no: it leaves |
 * | `Pending`, `Pending:Wait`, `Pending:Proceed` | not-in-service (joins once InService) | no | no |
 * | `Warmed:*` (every warm-pool state) | not-in-service (warm pools run the agent early: never join) | no | no |
 * | `EnteringStandby`, `Standby` | not-in-service (out of the desired capacity; an existing member keeps serving, no new join) | no | no |
 * | `Quarantined` (unused by AWS) | not-in-service | no | no |
 * | `Terminated`, `Detached` | gone | no | no |
 * | anything else | unknown: the answer is malformed, nothing is decided on it | — | — |
 */
export type AsgStateClass = 'running' | 'terminating' | 'not-in-service' | 'gone';

const EXACT: Readonly<Record<string, AsgStateClass>> = {
  InService: 'running',
  Terminating: 'terminating',
  'Terminating:Wait': 'terminating',
  'Terminating:Proceed': 'terminating',
  Detaching: 'terminating',
  Pending: 'not-in-service',
  'Pending:Wait': 'not-in-service',
  'Pending:Proceed': 'not-in-service',
  EnteringStandby: 'not-in-service',
  Standby: 'not-in-service',
  Quarantined: 'not-in-service',
  Terminated: 'gone',
  Detached: 'gone',
};

/** The class of a LifecycleState, or undefined for a state this code does not know (never guessed). */
export function classifyAsgState(state: string): AsgStateClass | undefined {
  const exact = EXACT[state];
  if (exact !== undefined) return exact;
  // Every warm-pool state, including ones AWS may add: a warmed instance is never in service.
  if (state.startsWith('Warmed:')) return 'not-in-service';
  return undefined;
}

/** Whether an instance in this class is listed for the planner (it runs and may hold a member). */
export function isListed(cls: AsgStateClass): boolean {
  return cls === 'running' || cls === 'terminating';
}
