import { ETCD_ERROR_RULES } from '../adapters/etcd/etcd-errors.ts';

/**
 * What a failed put's code means for the writer who got it, for the report's "failed writes by cause"
 * (every such write's outcome is unknown: it may or may not have been applied; none is lost). Codes
 * not listed read as etcd's own meaning of them (ETCD_ERROR_RULES).
 */
const FAILED_WRITE_CAUSES: Readonly<Record<string, string>> = {
  ETCD_TIMEOUT: "the writer's per-put deadline passed: a leader stalled, gone or being elected",
  ETCD_UNAVAILABLE:
    'the endpoint could not be reached or dropped the connection mid-put: its member stopped or was killed',
  ETCD_REQUEST_TIMEOUT: "etcd's own request timeout: the leader was lost or there was no quorum",
  ETCD_SERVER_STOPPED: 'the member that took the put was shutting down (it left the cluster)',
  ETCD_ABORTED: 'the member cancelled the put (it was stopping)',
  ETCD_NO_LEADER: 'no leader at that moment (an election)',
};

export function failedWriteCause(code: string): string {
  return (
    FAILED_WRITE_CAUSES[code] ??
    ETCD_ERROR_RULES.find((r) => r.code === code)?.meaning ??
    'an error the simulator does not classify'
  );
}
