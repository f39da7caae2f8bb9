/** Named exit codes, in the manner of etcdctl's cobrautl. */
export const EXIT = {
  ok: 0,
  failure: 1,
  /** Bad flags or configuration. */
  badArgs: 2,
  /** The cloud API could not be reached or refused us. */
  cloudUnavailable: 3,
  /** No etcd member could be reached. */
  etcdUnavailable: 4,
  /** Reached, but the cluster does not match the group or is unhealthy. */
  clusterNotHealthy: 5,
  /** A safety check refused the step (member operations without --force); nothing changed. */
  refused: 6,
} as const;
