#!/usr/bin/env bash
# Reconstruction of the seed's lost elastigroup-discovery.sh (Spotinst blog, 2017: "Run CoreOS etcd
# clusters on spot instances"). Nobody has a copy; this follows the blog's description:
#   "query the Spotinst API to fetch the Elastigroup ID (for members discovery) and use AWS Instance
#    Metadata to get the instance-id and instance-ip. This information will be written to a file and
#    instruct etcd2 to load this information on startup."
#   "When a new instance comes up, this process will compare the list of members reported by etcd to
#    the list of running machines in the Elastigroup … send a REST call to a healthy cluster member to
#    perform a cleanup task … This will remove instances that have been replaced."
# and, where the blog is silent, the join logic of the classic script of the same era,
# MonsantoCo/etcd-aws-cluster (remove bad members, add self, 10 tries × 3 s; "already listed" → new).
#
# Writes $PEERS_FILE (the seed's /home/core/spotinst_etcd/peers) and exits 0; exits non-zero when it
# could not decide, in which case run.sh does not start etcd (the seed's ExecStartPre failed and
# `systemctl start etcd2` never ran).
set -u
SEED_COMPONENT=discovery
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

pkg="elastigroup-discovery"
SPOTINST_TOKEN=$spotinst_token
# DIFFERENCE (house rule: every external call has a deadline): the seed's curl calls had none.
curl_max_time=${SEED_CURL_MAX_TIME:-30}
probe_max_time=${SEED_PROBE_TIMEOUT:-5}
tries=${SEED_JOIN_TRIES:-10}
try_pause=${SEED_JOIN_PAUSE:-3}
err=$SEED_DIR/discovery.err

log "start pkg=$pkg"

# Identity from the instance metadata (IMDSv1 GETs, as every script of that era did).
ec2_instance_id=$(curl -s -m "$curl_max_time" "$METADATA/latest/meta-data/instance-id")
if [[ ! $ec2_instance_id ]]; then
  log "imds-failed item=instance-id"
  exit 1
fi
ec2_instance_ip=$(curl -s -m "$curl_max_time" "$METADATA/latest/meta-data/local-ipv4")
if [[ ! $ec2_instance_ip ]]; then
  log "imds-failed item=local-ipv4"
  exit 2
fi
log "identity instance-id=$ec2_instance_id ip=$ec2_instance_ip"

# The group's running instances from the Spotinst API.
# DIFFERENCE: the seed looked the Elastigroup id up through the API (how is lost); the simulator
# hands it in as SIM_GROUP_ID, so we make no lookup calls.
group_status=$(curl -s -m "$curl_max_time" -X GET -H "Content-Type: application/json" \
  -H "Authorization: Bearer ${SPOTINST_TOKEN}" "$SPOTINST_API/aws/ec2/group/$SIM_GROUP_ID/status")
group_instances=$(jq -r '.response.items[] | .instanceId + " " + .privateIp' <<<"$group_status" 2>/dev/null)
if [[ ! $group_instances ]]; then
  log "group-status-failed group=$SIM_GROUP_ID body=$(head -c 200 <<<"$group_status" | tr -d '\n"')"
  exit 3
fi
group_ips=$(awk '{print $2}' <<<"$group_instances")
log "group-instances group=$SIM_GROUP_ID count=$(wc -l <<<"$group_instances") ips=$(paste -sd, <<<"$group_ips")"

write_peers() { # state initial_cluster
  local tmp=$PEERS_FILE.tmp
  cat >"$tmp" <<PEERS
ETCD_NAME=$ec2_instance_id
ETCD_INITIAL_CLUSTER="$2"
ETCD_INITIAL_CLUSTER_STATE=$1
ETCD_INITIAL_CLUSTER_TOKEN=$SIM_CLUSTER_TOKEN
PEERS
  mv "$tmp" "$PEERS_FILE"
  log "peers-file state=$1 initial-cluster=$2"
}

# Does an existing cluster answer on any other running instance's client URL? A REST call, as in the
# blog (and etcd-aws-cluster's `curl -f -s $url/v2/members`).
# DIFFERENCE (etcd2 → etcd3 API): etcd2's GET /v2/members became the v3 JSON gateway's member list.
good_url=
for ip in $group_ips; do
  [[ $ip == "$ec2_instance_ip" ]] && continue
  url=http://$ip:2379
  if curl -s -f -m "$probe_max_time" -X POST -d '{}' "$url/v3/cluster/member/list" >/dev/null 2>&1; then
    log "probe endpoint=$url result=answered"
    good_url=$url
    break
  fi
  log "probe endpoint=$url result=no-answer"
done

self_peer_url=http://$ec2_instance_ip:2380
members=
if [[ $good_url ]]; then
  # DIFFERENCE (etcd2 → etcd3 API): `etcdctl member list` in the simple format (hex ids):
  # `id, status, name, peer urls, client urls, is learner`.
  if ! members=$(etcdctl --endpoints="$good_url" member list 2>"$err"); then
    log "member-list-failed endpoint=$good_url error=\"$(last_line "$err")\""
    exit 4
  fi
  log "cluster-found endpoint=$good_url members=$(wc -l <<<"$members")"
fi

# Listed already (a reboot, or a bootstrap member that starts after the others formed the cluster):
# like etcd-aws-cluster, take the "new" path; etcd ignores it when the data dir holds a WAL.
self_listed=
if [[ $members ]] && awk -F', ' -v u="$self_peer_url" '{ n = split($4, p, ","); for (i = 1; i <= n; i++) if (p[i] == u) f = 1 } END { exit !f }' <<<"$members"; then
  self_listed=1
  log "self-listed peer-url=$self_peer_url"
fi

if [[ $members && ! $self_listed ]]; then
  log "join-existing endpoint=$good_url"

  # Cleanup of "bad" members: every member whose peer IP is not a running instance of the group.
  # No quorum or health check, exactly like the seed: an IP missing from the API answer is enough.
  bad_members=$(awk -F', ' '{ print $1 " " $4 }' <<<"$members" | while read -r id peers; do
    host=${peers%%,*}
    host=${host#*://}
    host=${host%:*}
    grep -qxF "$host" <<<"$group_ips" || echo "$(hex16 "$id") $host"
  done)
  while read -r bp bp_ip; do
    [[ $bp ]] || continue
    removed=
    for ((attempt = 1; attempt <= tries; attempt++)); do
      log "remove-bad-member id=$bp peer-ip=$bp_ip attempt=$attempt"
      if etcdctl --endpoints="$good_url" member remove "$bp" >/dev/null 2>"$err"; then
        log "removed-bad-member id=$bp peer-ip=$bp_ip"
        removed=1
        break
      fi
      log "remove-bad-member-failed id=$bp attempt=$attempt error=\"$(last_line "$err")\""
      ((attempt < tries)) && sleep "$try_pause"
    done
    if [[ ! $removed ]]; then
      log "giving-up reason=remove-bad-member id=$bp"
      exit 6
    fi
  done <<<"$bad_members"

  # Add self as a full voting member (learners did not exist in etcd2).
  initial_cluster=
  for ((attempt = 1; attempt <= tries; attempt++)); do
    log "member-add name=$ec2_instance_id peer-url=$self_peer_url attempt=$attempt"
    if add_out=$(etcdctl --endpoints="$good_url" member add "$ec2_instance_id" --peer-urls="$self_peer_url" 2>"$err"); then
      initial_cluster=$(sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p' <<<"$add_out")
      log "member-added id=$(hex16 "$(sed -n 's/^Member  *\([0-9a-f]*\) added.*/\1/p' <<<"$add_out")")"
      break
    fi
    if grep -q 'Peer URLs already exists' "$err"; then
      # etcd-aws-cluster accepted the v2 API's 409 here: an earlier try went through. Build the
      # initial cluster from the member list, as it did.
      log "member-add-exists peer-url=$self_peer_url"
      if members=$(etcdctl --endpoints="$good_url" member list 2>"$err"); then
        initial_cluster=$(awk -F', ' -v me="$ec2_instance_id" -v u="$self_peer_url" '{ split($4, p, ","); n = (p[1] == u) ? me : $3; printf "%s%s=%s", sep, n, p[1]; sep = "," }' <<<"$members")
        break
      fi
    fi
    log "member-add-failed attempt=$attempt error=\"$(last_line "$err")\""
    ((attempt < tries)) && sleep "$try_pause"
  done
  if [[ ! $initial_cluster ]]; then
    log "giving-up reason=member-add"
    exit 7
  fi
  write_peers existing "$initial_cluster"
else
  # A new cluster of every running instance of the group: no seeder, no vote. Correct only if every
  # instance that starts now sees the same, complete list (the seed's bootstrap race).
  [[ $good_url ]] || log "no-cluster action=bootstrap-new"
  initial_cluster=$(jq -r '[.response.items[] | .instanceId + "=http://" + .privateIp + ":2380"] | join(",")' <<<"$group_status")
  write_peers new "$initial_cluster"
fi
exit 0
