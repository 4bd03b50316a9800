#!/usr/bin/env bash
# Soak of a 3-peer cluster: one etcd member, `torus init --replication 2`, three
# `torus node` processes (-Xmx512m, file stores), one volume exported by `torus nbd`, under
# the same fio rounds as soak-demo.sh, for SOAK_MINUTES (default 30).
#
# In each of the first SOAK_RESTART_ROUNDS rounds (default 4) one node is stopped while
# fio runs (odd rounds SIGTERM, even rounds kill -9), kept down SOAK_DOWN_SECS and started
# again; fio must see no error. In even restart rounds the `torus nbd` export is restarted
# (SIGTERM) after the writes, and the round is verified with another node stopped (reads
# with one peer down). Later rounds run without restarts until the deadline (memory and
# open files of long-lived processes); the export is restarted once more at the end.
#
#   benchmarks/soak/soak-cluster.sh                 # 30 minutes
#   SOAK_MINUTES=3 benchmarks/soak/soak-cluster.sh  # a short run
#   SOAK_ENCRYPT=1 benchmarks/soak/soak-cluster.sh  # the volume encrypted at rest
#
# Output: benchmarks/target/soak-cluster-*/. Exit status 0 only if everything passed.
source "$(dirname "$0")/lib.sh"

SOAK_VOLUME_GIB=${SOAK_VOLUME_GIB:-2}
SOAK_NODE_CAPACITY=${SOAK_NODE_CAPACITY:-6GiB}
SOAK_RESTART_ROUNDS=${SOAK_RESTART_ROUNDS:-4}
SOAK_NODE_DELAY=${SOAK_NODE_DELAY:-15}    # seconds into a round's fio before a node is stopped
SOAK_DOWN_SECS=${SOAK_DOWN_SECS:-20}
SOAK_ENCRYPT=${SOAK_ENCRYPT:-0}           # 1: vol1 is encrypted at rest (key file in the run's temp dir)
: "${SEQ_MB:=1024}" "${RAND_MB:=128}" "${MIX_MB:=128}" "${TRIMW_MB:=64}" "${TRIM_MB:=128}" "${SCRATCH_MB:=0}"
: "${SEQ_READ_MB:=512}" "${RAND_READ_MB:=32}"
export SEQ_READ_MB RAND_READ_MB
layout
[ "$USED_MB" -le $((SOAK_VOLUME_GIB * 1024)) ] || { echo "soak: layout needs $USED_MB MiB > ${SOAK_VOLUME_GIB} GiB" >&2; exit 2; }
need etcd curl

soak_init cluster
ECP=$(free_port); EPP=$(free_port); NBDP=$(free_port); NBDM=$(free_port)
NP=(); NM=()
for i in 0 1 2; do NP[$i]=$(free_port); NM[$i]=$(free_port); done
ETCD=http://127.0.0.1:$ECP
export SOAK_URI=nbd://127.0.0.1:$NBDP/vol1
echo "volume=${SOAK_VOLUME_GIB}GiB node_capacity=$SOAK_NODE_CAPACITY layout: seq ${SEQ_MB} rand 2x${RAND_MB} mix ${MIX_MB} trimwrite ${TRIMW_MB} trim ${TRIM_MB} MiB" >> "$OUT/meta.txt"

torus() { timeout 120 java -Xmx256m -jar "$JAR" "$@" --etcd "$ETCD"; }

start_etcd() {
  start_proc etcd etcd --name m0 --data-dir "$TMP/etcd" \
    --listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
    --listen-peer-urls "http://127.0.0.1:$EPP" --initial-advertise-peer-urls "http://127.0.0.1:$EPP" \
    --initial-cluster "m0=http://127.0.0.1:$EPP" --initial-cluster-state new \
    --heartbeat-interval 20 --election-timeout 200 --log-outputs stderr
  local t
  for ((t = 0; t < 300; t++)); do
    curl -s --max-time 1 "$ETCD/health" | grep -q '"health":"true"' && { event start "etcd healthy"; return 0; }
    kill -0 "${PIDS[etcd]}" 2>/dev/null || break
    sleep 0.1
  done
  fail "etcd not healthy"; exit 1
}

start_node() { # start_node I
  local i=$1 t0; t0=$(date +%s%N)
  echo "$TMP/n$i" > "$TMP/datadir.node$i"
  start_proc "node$i" java -Xmx512m -jar "$JAR" node --etcd "$ETCD" --data "$TMP/n$i" \
    --capacity "$SOAK_NODE_CAPACITY" --listen "127.0.0.1:${NP[$i]}" --metrics "127.0.0.1:${NM[$i]}"
  wait_log "node$i" 'node ready' 120 || { fail "node$i did not start"; exit 1; }
  event start "node$i pid ${PIDS[node$i]} ready after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

start_nbd() {
  local t0; t0=$(date +%s%N)
  start_proc nbd java -Xmx512m -jar "$JAR" nbd --etcd "$ETCD" --listen "127.0.0.1:$NBDP" \
    --metrics "127.0.0.1:$NBDM" "${KEYARGS[@]}" vol1
  wait_log nbd 'exporting vol1' 120 || { fail "nbd export did not start"; exit 1; }
  event start "nbd pid ${PIDS[nbd]} exporting after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

peers_up() { torus peer list 2>/dev/null | grep -cE '[[:space:]]up[[:space:]]'; }

wait_peers_up() { # wait_peers_up N SECONDS
  local t0; t0=$(now)
  while [ $(( $(now) - t0 )) -lt "$2" ]; do
    [ "$(peers_up)" -ge "$1" ] && { event peers "$1 up after $(( $(now) - t0 )) s"; return 0; }
    sleep 2
  done
  fail "fewer than $1 peers up after $2 s"; return 1
}

status_snapshot() { torus status > "$OUT/fio/$(printf %03d "$1")-status-$2.txt" 2>&1 || true; }

flush_export() { PATH=/usr/bin:$PATH timeout 120 nbdsh -u "$SOAK_URI" -c 'h.flush()' || fail "explicit flush failed"; }

metrics_snapshot() {
  { curl -s --max-time 10 "http://127.0.0.1:$NBDM/metrics" | grep -E '^torus_volume_errors_total'
    for i in 0 1 2; do curl -s --max-time 10 "http://127.0.0.1:${NM[$i]}/metrics" | grep -E '^torus_store_used_bytes' | sed "s/^/node$i /"; done
  } > "$OUT/fio/$(printf %03d "$1")-metrics.txt" 2>/dev/null || true
}

bounce_node() { # bounce_node I TERM|KILL : stop, stay down SOAK_DOWN_SECS, start again
  local i=$1 sig=$2
  log "stopping node$i with SIG$sig while fio runs"
  stop_proc "node$i" "$sig" 60 || [ "$sig" = KILL ]
  sleep "$SOAK_DOWN_SECS"
  start_node "$i"
  wait_peers_up 3 90
}

start_etcd
torus init --replication 2 >> "$OUT/logs/admin.log" 2>&1 || { fail "torus init failed"; exit 1; }
for i in 0 1 2; do start_node "$i"; done
wait_peers_up 3 60 || exit 1
KEYARGS=()
if [ "$SOAK_ENCRYPT" = 1 ]; then
  java -jar "$JAR" key generate --out "$TMP/kek.hex" >> "$OUT/logs/admin.log" 2>&1 || { fail "key generate failed"; exit 1; }
  KEYARGS=(--key-file "$TMP/kek.hex")
  echo "encrypted: yes" >> "$OUT/meta.txt"
  ENC=(--encrypt)
else
  ENC=()
fi
torus volume create vol1 "${SOAK_VOLUME_GIB}GiB" "${ENC[@]}" "${KEYARGS[@]}" >> "$OUT/logs/admin.log" 2>&1 || { fail "volume create failed"; exit 1; }
start_nbd
start_sampler

round=0 node_restarts=0 nbd_restarts=0
deadline=$((T0 + SOAK_MINUTES * 60))
while [ "$(now)" -lt "$deadline" ]; do
  round=$((round + 1))
  round_env "$round"
  restart_round=0; [ "$round" -le "$SOAK_RESTART_ROUNDS" ] && restart_round=1
  log "round $round: writes, verified reads, trims ($SOAK_TAG)"
  run_fio "$round" write "$SOAK_DIR/round.fio" &
  fio_pid=$!
  if [ "$restart_round" = 1 ]; then
    sleep "$SOAK_NODE_DELAY"
    if kill -0 "$fio_pid" 2>/dev/null; then
      sig=TERM; [ $((round % 2)) = 0 ] && sig=KILL
      bounce_node $(( (round - 1) % 3 )) "$sig"; node_restarts=$((node_restarts + 1))
      kill -0 "$fio_pid" 2>/dev/null || event note "round $round: fio finished before node$(( (round - 1) % 3 )) was back"
    else
      event note "round $round: fio finished before the node stop was due"
    fi
  fi
  wait "$fio_pid"
  flush_export
  metrics_snapshot "$round"
  down=
  if [ "$restart_round" = 1 ] && [ $((round % 2)) = 0 ]; then
    stop_proc nbd TERM 120; nbd_restarts=$((nbd_restarts + 1))
    start_nbd
  fi
  if [ "$restart_round" = 1 ] && [ $((round % 2)) = 0 ]; then
    down=$(( round % 3 ))
    stop_proc "node$down" TERM 60
    node_restarts=$((node_restarts + 1))
  fi
  status_snapshot "$round" verify
  label=all-up; [ -n "$down" ] && label=node$down-down
  log "round $round: verify ($label)"
  run_fio "$round" "verify-$label" "$SOAK_DIR/round.fio" --verify_only \
    --section=seqw --section=randw --section=mixw --section=trimw
  content_check "$round" "content-$label" "$SOAK_URI"
  if [ -n "$down" ]; then start_node "$down"; wait_peers_up 3 90; fi
done
log "deadline reached after $round rounds: restart of the export and verification of round $round"
stop_proc nbd TERM 120; nbd_restarts=$((nbd_restarts + 1))
start_nbd
run_fio "$round" verify-final-nbd-restart "$SOAK_DIR/round.fio" --verify_only \
  --section=seqw --section=randw --section=mixw --section=trimw
content_check "$round" content-final-nbd-restart "$SOAK_URI"
status_snapshot "$round" end
stop_proc nbd TERM 120
for i in 0 1 2; do stop_proc "node$i" TERM 60; done
stop_proc etcd TERM 30 143
event end "rounds $round, node stops $node_restarts, nbd restarts $nbd_restarts"
summary
[ "$(failures)" = 0 ]
