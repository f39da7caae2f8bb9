#!/bin/bash
# The seed's termination.sh (Spotinst blog, 2017), run by run.sh every SEED_POLL_INTERVAL seconds
# (the seed's spotinst-etcd-termination.timer, OnCalendar=*:*:0/30). Changed only in paths, in
# etcdctl v3 syntax and in logging; every change is marked DIFFERENCE. Its flaws are kept on purpose:
# any failure of the local `etcdctl member list` wipes the data dir; `grep $IP` matches prefixes
# (10.0.0.1 matches 10.0.0.11); the member removes itself with no leader hand-off, no quorum check and
# no signal to Spot.
set -u
SEED_COMPONENT=termination
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

pkg="spotinst_etcd_termination"
version="0.0.1"
# DIFFERENCE (house rule: every external call has a deadline): the seed's curl calls had none.
curl_max_time=${SEED_CURL_MAX_TIME:-30}
err=$SEED_DIR/termination.err
log "start pkg=$pkg version=$version"

# Create directory to write output to
mkdir -p "$SEED_DIR"

ec2_instance_id=$(curl -s -m "$curl_max_time" "$METADATA/latest/meta-data/instance-id")
if [[ ! $ec2_instance_id ]]; then
  log "imds-failed item=instance-id" # seed: echo "$pkg: failed to get instance id from instance metadata"
  exit 2
fi

# DIFFERENCE (etcd2 → etcd3 API): v3 etcdctl with the local client URL. etcd2 answered /v2/members
# from local state at once; etcd3 serves clients only once the member has joined and published
# itself, so this check also fails while the local etcd is (re)starting (see README).
# shellcheck disable=SC2086
if ! (etcdctl --endpoints="$LOCAL_CLIENT_URL" member list 2>"$err" | grep -q $COREOS_PRIVATE_IPV4); then
  log "not-in-member-list action=wipe-data-dir-and-restart-etcd error=\"$(last_line "$err")\"" # seed: echo "machine not found in etcd restarting etcd2"
  rm -rf "${SIM_DATA_DIR:?}"/*
  # DIFFERENCE (systemd → shell supervisor): seed: systemctl restart etcd2
  systemctl_restart_etcd
fi

# DIFFERENCE: `curl -s` (the seed's curl printed its progress meter to the journal) and jq's errors
# dropped, so that stderr stays one line per action.
ec2_instance_status=$(curl -s -m "$curl_max_time" -X GET -H "Content-Type: application/json" -H "Authorization: Bearer ${spotinst_token}" "$SPOTINST_API/aws/ec2/instance/${ec2_instance_id}" | jq '.response | .items[0]|.lifeCycleState' 2>/dev/null)
log "instance-status instance-id=$ec2_instance_id ec2_instance_status=$ec2_instance_status"

if [[ $ec2_instance_status = *"TERMINATING"* ]]; then
  # DIFFERENCE (etcd2 → etcd3 API): v3's simple output is `id, status, …` (v2's was `id: name=…`),
  # hence -F',' where the seed had -F':'.
  # shellcheck disable=SC2086
  etcd_member_id=$(etcdctl --endpoints="$LOCAL_CLIENT_URL" member list 2>"$err" | grep $COREOS_PRIVATE_IPV4 | awk '{print $1}' | awk -F',' '{print $1}')
  log "member-remove-self id=$(hex16 "$etcd_member_id")" # seed: echo "removing etcd member from cluster: $etcd_member_id"
  # shellcheck disable=SC2086
  if etcdctl --endpoints="$LOCAL_CLIENT_URL" member remove $etcd_member_id >/dev/null 2>"$err"; then
    log "member-removed-self id=$(hex16 "$etcd_member_id")"
  else
    log "member-remove-self-failed id=$(hex16 "$etcd_member_id") error=\"$(last_line "$err")\""
  fi
fi
