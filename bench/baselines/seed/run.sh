#!/usr/bin/env bash
# Entry point of the seed baseline: one run per simulated instance (see README.md for the contract).
# Replaces the seed's cloud-config units:
#   spotinst-etcd-discovery.service  ExecStartPre=discovery.sh, ExecStart=systemctl start etcd2
#   etcd2.service                    Restart=always (+ 20-cloudinit.conf and 30-etcd_peers.conf)
#   spotinst-etcd-termination.timer  OnCalendar=*:*:0/30 → termination.sh (Type=oneshot)
# DIFFERENCE (systemd → shell supervisor): a background loop restarts etcd SEED_RESTART_SEC seconds
# after every exit, whatever the exit code; a foreground loop (0.1 s steps) starts it after discovery
# and runs termination.sh at every multiple of SEED_POLL_INTERVAL (whole seconds) of the wall clock,
# like OnCalendar (systemd's AccuracySec is not modelled), never two at once.
set -u
SEED_COMPONENT=run
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

poll_interval=${SEED_POLL_INTERVAL:-30}
restart_sec=${SEED_RESTART_SEC:-5}
# What etcd2.service set itself (Environment=ETCD_DATA_DIR=/var/lib/etcd2, ETCD_NAME=%m).
UNIT_FILE=$SEED_DIR/etcd2.service.env
# discovery.sh's exit code, once it has finished.
DISCOVERY_STATUS=$SEED_DIR/discovery.status

rm -f "$ETCD_PID_FILE" "$RESTART_FLAG"
log "start pid=$$ poll-interval=$poll_interval restart-sec=$restart_sec"

cat >"$UNIT_FILE" <<ENV
ETCD_DATA_DIR=$SIM_DATA_DIR
ETCD_NAME=$SIM_INSTANCE_ID
ETCD_LOGGER=zap
ETCD_LOG_OUTPUTS=stderr
ENV
# The cloud-config's `coreos: etcd2:` section.
# DIFFERENCE: the seed listened for clients on http://0.0.0.0:2379,http://0.0.0.0:4001; the simulator
# contract allows the private IP only.
cat >"$CLOUDINIT_FILE" <<ENV
ETCD_ADVERTISE_CLIENT_URLS=http://$COREOS_PRIVATE_IPV4:2379
ETCD_INITIAL_ADVERTISE_PEER_URLS=http://$COREOS_PRIVATE_IPV4:2380
ETCD_LISTEN_CLIENT_URLS=http://$COREOS_PRIVATE_IPV4:2379
ETCD_LISTEN_PEER_URLS=http://$COREOS_PRIVATE_IPV4:2380
ENV

# etcd2.service with Restart=always. Returns only when it cannot start etcd (no peers file: systemd
# refuses a unit whose EnvironmentFile= is missing).
etcd_service() {
  local pid code state waited
  while :; do
    rm -f "$RESTART_FLAG"
    if [[ ! -f $PEERS_FILE ]]; then
      log "etcd-start-failed reason=no-peers-file"
      return 1
    fi
    state=$(sed -n 's/^ETCD_INITIAL_CLUSTER_STATE=//p' "$PEERS_FILE")
    (
      set -a
      # shellcheck disable=SC1090
      . "$UNIT_FILE"
      # shellcheck disable=SC1090
      . "$CLOUDINIT_FILE"
      # shellcheck disable=SC1090
      . "$PEERS_FILE"
      set +a
      exec "$SIM_ETCD_BINARY"
    ) >>"$ETCD_LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$ETCD_PID_FILE"
    log "etcd-start pid=$pid initial-cluster-state=$state data-dir-empty=$([[ -z $(ls -A "$SIM_DATA_DIR" 2>/dev/null) ]] && echo true || echo false)"
    wait "$pid"
    code=$?
    rm -f "$ETCD_PID_FILE"
    log "etcd-exit pid=$pid code=$code"
    # RestartSec: wait, unless termination.sh asked for a restart (systemctl restart starts at once).
    waited=0
    while ((waited < restart_sec * 10)) && [[ ! -f $RESTART_FLAG ]]; do
      nap 0.1
      waited=$((waited + 1))
    done
  done
}

service_pid=
service_running() { [[ $service_pid ]] && kill -0 "$service_pid" 2>/dev/null; }
start_etcd_service() {
  etcd_service &
  service_pid=$!
}

# A sleep without a fork: read from a pipe that never has data.
exec {nap_fd}<> <(:)
nap() { read -r -t "$1" -u "$nap_fd" || true; }

# Both units start at boot, independently: the timer does not wait for discovery (a slow join overlaps
# with the first termination checks, as it did on CoreOS).
# spotinst-etcd-discovery.service: `systemctl start etcd2` once discovery succeeded (a no-op when a
# termination check has started etcd2 in the meantime).
rm -f "$DISCOVERY_STATUS"
(
  "$here/discovery.sh"
  echo "$?" >"$DISCOVERY_STATUS.tmp" && mv "$DISCOVERY_STATUS.tmp" "$DISCOVERY_STATUS"
) &
discovery_handled=
# spotinst-etcd-termination.timer: a Type=oneshot service is not started again while it still runs.
termination_pid=
next_tick=$(((EPOCHSECONDS / poll_interval + 1) * poll_interval))

while :; do
  if [[ ! $discovery_handled && -f $DISCOVERY_STATUS ]]; then
    discovery_handled=1
    code=$(<"$DISCOVERY_STATUS")
    if [[ $code == 0 ]]; then
      log "discovery-done"
      service_running || start_etcd_service
    else
      log "discovery-failed code=$code"
    fi
  fi
  # `systemctl restart etcd2` (termination.sh) also starts an etcd2 that is not running.
  if [[ -f $RESTART_FLAG ]] && ! service_running; then
    start_etcd_service
  fi
  if ((EPOCHSECONDS >= next_tick)); then
    if ! { [[ $termination_pid ]] && kill -0 "$termination_pid" 2>/dev/null; }; then
      (
        "$here/termination.sh"
        code=$?
        ((code == 0)) || log "termination-check-failed code=$code"
      ) &
      termination_pid=$!
    fi
    next_tick=$(((EPOCHSECONDS / poll_interval + 1) * poll_interval))
  fi
  nap 0.1
done
