# shellcheck shell=bash
# Shared by run.sh, discovery.sh and termination.sh (sourced, never run). Not part of the 2017 seed:
# it holds what the seed got from CoreOS (cloud-config substitutions, /etc/environment, systemd unit
# files) and what our simulator contract hands in as SIM_* variables, plus the one-line-per-action log.

: "${SIM_INSTANCE_ID:?SIM_INSTANCE_ID is required}"
: "${SIM_PRIVATE_IP:?SIM_PRIVATE_IP is required}"
: "${SIM_METADATA_URL:?SIM_METADATA_URL is required}"
: "${SIM_SPOT_API_URL:?SIM_SPOT_API_URL is required}"
: "${SIM_SPOT_TOKEN:?SIM_SPOT_TOKEN is required}"
: "${SIM_GROUP_ID:?SIM_GROUP_ID is required}"
: "${SIM_DATA_DIR:?SIM_DATA_DIR is required}"
: "${SIM_STATE_DIR:?SIM_STATE_DIR is required}"
: "${SIM_CLUSTER_TOKEN:?SIM_CLUSTER_TOKEN is required}"
SIM_ETCD_BINARY=${SIM_ETCD_BINARY:-etcd}
SIM_ETCDCTL_BINARY=${SIM_ETCDCTL_BINARY:-etcdctl}

# DIFFERENCE (paths): the seed kept its files under /home/core/spotinst_etcd/ and etcd2's data in
# /var/lib/etcd2; ours live in the instance's scratch and data dirs.
SEED_DIR=$SIM_STATE_DIR/spotinst_etcd
# The seed's `/home/core/spotinst_etcd/peers`, loaded by etcd2 through the 30-etcd_peers.conf drop-in.
PEERS_FILE=$SEED_DIR/peers
# What coreos-cloudinit generated from the cloud-config's `coreos: etcd2:` section (20-cloudinit.conf).
CLOUDINIT_FILE=$SEED_DIR/20-cloudinit.env
# DIFFERENCE (systemd → shell supervisor): the pid of the running etcd, and a flag termination.sh sets
# where the seed ran `systemctl restart etcd2`.
ETCD_PID_FILE=$SEED_DIR/etcd.pid
RESTART_FLAG=$SEED_DIR/etcd-restart-requested
ETCD_LOG=$SEED_DIR/etcd.log

# /etc/environment on CoreOS carried COREOS_PRIVATE_IPV4; cloud-config substituted $private_ipv4.
COREOS_PRIVATE_IPV4=$SIM_PRIVATE_IP
# The seed pasted the token into both scripts.
spotinst_token=$SIM_SPOT_TOKEN
# DIFFERENCE (endpoints): the seed's Spot API was https://api.spotinst.io (the blog's listing shows a
# mangled host) and its IMDS http://169.254.169.254.
SPOTINST_API=$SIM_SPOT_API_URL
METADATA=$SIM_METADATA_URL

# DIFFERENCE (etcd2 → etcd3 API): etcdctl speaks v3 and needs explicit endpoints, because etcd listens
# on the private IP only (the seed's etcd2 also listened on 0.0.0.0, where etcdctl's default
# 127.0.0.1:2379 found it).
LOCAL_CLIENT_URL=http://$SIM_PRIVATE_IP:2379
etcdctl() { ETCDCTL_API=3 command "$SIM_ETCDCTL_BINARY" "$@"; }

# One line per action on stderr: `<UTC time, ms> seed <component> <instance> <event> [key=value ...]`.
SEED_COMPONENT=${SEED_COMPONENT:-seed}
log() {
  printf '%s seed %s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$SEED_COMPONENT" "$SIM_INSTANCE_ID" "$*" >&2
}

# A member id as etcd-spot logs it: 16 lowercase hex digits. etcdctl prints ids without leading zeros
# (`member list`) or space-padded (`member add`: "Member %16x added"). Several ids (the seed's
# `grep $IP` can match more than one line) come out comma-separated.
hex16() {
  local id out=()
  for id in $1; do out+=("$(printf '%16s' "$id" | tr ' ' 0)"); done
  local IFS=,
  echo "${out[*]}"
}

# The last line of a file, quoted for a log value (etcdctl's errors end with `Error: …`).
last_line() { tail -n 1 "$1" 2>/dev/null | tr -d '"' | tr '\n' ' ' | sed 's/ *$//'; }

mkdir -p "$SEED_DIR"

# DIFFERENCE (systemd → shell supervisor): what `systemctl restart etcd2` did. Stops the running etcd
# (SIGTERM, SIGKILL after SEED_STOP_TIMEOUT s, as systemd's TimeoutStopSec) and asks run.sh's
# supervisor to start it again at once (no RestartSec pause), or run.sh to start the supervisor when
# there is none (etcd was never started because discovery failed).
systemctl_restart_etcd() {
  local pid waited=0 limit=$((${SEED_STOP_TIMEOUT:-10} * 10))
  touch "$RESTART_FLAG"
  pid=$(cat "$ETCD_PID_FILE" 2>/dev/null)
  log "etcd-restart-requested pid=${pid:-none}"
  if [[ $pid ]] && kill -TERM "$pid" 2>/dev/null; then
    # The supervisor reaps it and removes the pid file.
    while [[ -f $ETCD_PID_FILE ]] && kill -0 "$pid" 2>/dev/null; do
      if ((waited >= limit)); then
        log "etcd-stop-timeout pid=$pid action=sigkill"
        kill -KILL "$pid" 2>/dev/null
        break
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
  fi
}
