#!/usr/bin/env bash
# Soak of the README demo: `torus demo` (3 file stores, replication 2) under fio over NBD
# for SOAK_MINUTES (default 30). The process is restarted after each of the first
# SOAK_RESTART_ROUNDS rounds (default 4: SIGTERM, kill -9 while a scratch writer is busy,
# SIGTERM, kill -9), then runs without restart until the deadline (so memory and open files
# of one long-lived process can be judged), and is restarted once more (SIGTERM) at the end.
# Every round's data is verified after the restart (or in place): fio verify_only (crc32c)
# and check.py (this round's tag in every 4 KiB, zeros where trimmed).
# See benchmarks/README.md, "Soak".
#
#   benchmarks/soak/soak-demo.sh                 # 30 minutes
#   SOAK_MINUTES=3 benchmarks/soak/soak-demo.sh  # a short run
#
# Output: benchmarks/target/soak-demo-*/ (summary.txt, samples.csv, fio.csv, events.csv,
# fio/, logs/). Exit status 0 only if every fio job and content check passed.
source "$(dirname "$0")/lib.sh"

SOAK_SIZE_GIB=${SOAK_SIZE_GIB:-3}
SOAK_RESTART_ROUNDS=${SOAK_RESTART_ROUNDS:-4}
SOAK_KILL_EVERY=${SOAK_KILL_EVERY:-2}     # every Nth restart is a kill -9
: "${SEQ_MB:=1536}" "${SCRATCH_MB:=512}"  # scratch: written by the writer that is busy at kill -9
: "${SEQ_READ_MB:=1024}" "${RAND_READ_MB:=64}"
export SEQ_READ_MB RAND_READ_MB
layout
[ "$USED_MB" -le $((SOAK_SIZE_GIB * 1024)) ] || { echo "soak: layout needs $USED_MB MiB > ${SOAK_SIZE_GIB} GiB" >&2; exit 2; }

soak_init demo
PORT=$(free_port); MPORT=$(free_port)
export SOAK_URI=nbd://127.0.0.1:$PORT/demo
DATA=$TMP/demo-data
echo "$DATA" > "$TMP/datadir.demo"
echo "volume=${SOAK_SIZE_GIB}GiB layout: seq ${SEQ_MB} rand 2x${RAND_MB} mix ${MIX_MB} trimwrite ${TRIMW_MB} trim ${TRIM_MB} scratch ${SCRATCH_MB} MiB" >> "$OUT/meta.txt"

start_demo() {
  start_proc demo java -Xmx1g -jar "$JAR" demo --data "$DATA" --nbd "127.0.0.1:$PORT" \
    --metrics "127.0.0.1:$MPORT" --size "${SOAK_SIZE_GIB}GiB"
  local t0; t0=$(date +%s%N)
  wait_log demo 'Serving volume' 120 || { fail "demo did not start"; exit 1; }
  event start "demo pid ${PIDS[demo]} serving after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

flush_export() { PATH=/usr/bin:$PATH timeout 120 nbdsh -u "$SOAK_URI" -c 'h.flush()' || fail "explicit flush failed"; }

metrics_snapshot() { # errors counted by the server itself
  curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" | grep -E '^torus_volume_errors_total|^torus_store_used_bytes' \
    > "$OUT/fio/$(printf %03d "$1")-metrics.txt" 2>/dev/null || true
}

restart_demo() { # restart_demo ROUND LAST
  restarts=$((restarts + 1))
  if [ "$2" = 0 ] && [ $((restarts % SOAK_KILL_EVERY)) = 0 ]; then
    # Crash while a writer is busy on the scratch region: only flushed data must survive.
    log "round $1: kill -9 while writing the scratch region"
    local base; base="$OUT/fio/$(printf %03d "$1")-crashwriter"
    fio --name=crashwriter --ioengine=nbd --uri="$SOAK_URI" --rw=randwrite --bsrange=4k-1M \
      --iodepth=16 --offset="${SCRATCH_OFF}M" --size="${SCRATCH_MB}M" --time_based --runtime=60 \
      --fsync=64 > "$base.log" 2>&1 &
    PIDS[crashwriter]=$!
    sleep 8
    stop_proc demo KILL 30 || true
    wait "${PIDS[crashwriter]}"
    event crashwriter "fio exit $? after the kill (errors expected there: $(grep -cE 'error' "$base.log") error lines)"
    unset 'PIDS[crashwriter]'
  else
    stop_proc demo TERM 120
  fi
  start_demo
}

start_demo
start_sampler
round=0 restarts=0
deadline=$((T0 + SOAK_MINUTES * 60))
while [ "$(now)" -lt "$deadline" ]; do
  round=$((round + 1))
  round_env "$round"
  log "round $round: writes, verified reads, trims ($SOAK_TAG)"
  run_fio "$round" write "$SOAK_DIR/round.fio"
  flush_export
  metrics_snapshot "$round"
  if [ "$round" -le "$SOAK_RESTART_ROUNDS" ]; then
    restart_demo "$round" 0
    label=after-restart
  else
    label=in-place
  fi
  log "round $round: verify ($label)"
  run_fio "$round" "verify-$label" "$SOAK_DIR/round.fio" --verify_only \
    --section=seqw --section=randw --section=mixw --section=trimw
  content_check "$round" "content-$label" "$SOAK_URI"
done
log "deadline reached after $round rounds: final restart (SIGTERM) and verification of round $round"
restart_demo "$round" 1
run_fio "$round" verify-final-restart "$SOAK_DIR/round.fio" --verify_only \
  --section=seqw --section=randw --section=mixw --section=trimw
content_check "$round" content-final-restart "$SOAK_URI"
stop_proc demo TERM 120
event end "rounds $round restarts $restarts"
summary
[ "$(failures)" = 0 ]
