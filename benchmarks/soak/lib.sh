# Shared helpers of the soak runs (sourced by soak-demo.sh and soak-cluster.sh).
#
# Every process is started by the run, registered by PID and stopped by PID (trap on exit
# and interrupt). Everything listens on 127.0.0.1. Temporary data goes to a mktemp
# directory that is removed at the end; logs, CSVs and fio output stay in $OUT.

set -u -o pipefail

SOAK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SOAK_DIR/../.." && pwd)
SOAK_MINUTES=${SOAK_MINUTES:-30}
SOAK_SAMPLE_SECS=${SOAK_SAMPLE_SECS:-15}
SOAK_JAR=${SOAK_JAR:-$REPO/torus-examples/target/torus.jar}
SOAK_COMMIT=${SOAK_COMMIT:-$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)}
SOAK_KEEP_DATA=${SOAK_KEEP_DATA:-0}       # 1: keep the temp data dir (for a post-mortem)
SOAK_MIN_FREE_GIB=${SOAK_MIN_FREE_GIB:-4} # stop the run if the temp file system gets this full
PY=/usr/bin/python3                       # Debian's python3 has the libnbd module

declare -A PIDS=()     # name -> pid of a running process
SAMPLER_PID=
TMP=
OUT=
T0=$(date +%s)

now() { date +%s; }
elapsed() { echo $(( $(now) - T0 )); }
log() { echo "[$(date +%H:%M:%S) +$(elapsed)s] $*" | tee -a "$OUT/run.log" >&2; }
event() { # event NAME DETAIL...  -> events.csv
  local n=$1; shift
  echo "$(now),$(elapsed),$n,\"$*\"" >> "$OUT/events.csv"
  log "event $n: $*"
}
fail() { event FAILURE "$*"; }
failures() { grep -c ',FAILURE,' "$OUT/events.csv"; }

need() { for t in "$@"; do command -v "$t" >/dev/null || { echo "soak: needs $t on PATH" >&2; exit 2; }; done; }

soak_init() { # soak_init MODE
  need java jstat fio jq nbdinfo "$PY"
  [ -f "$SOAK_JAR" ] || { echo "soak: no jar at $SOAK_JAR (build: mvn -B -ntp -q install -DskipTests)" >&2; exit 2; }
  OUT=${SOAK_OUT:-$REPO/benchmarks/target/soak-$1-$(date +%Y%m%d-%H%M%S)}
  mkdir -p "$OUT/fio" "$OUT/logs"
  TMP=$(mktemp -d /tmp/torus-soak-$1.XXXXXX)
  # A private copy: a rebuild of the tree during the run must not swap the jar under us.
  cp "$SOAK_JAR" "$TMP/torus.jar"
  JAR=$TMP/torus.jar
  echo "epoch,elapsed_s,event,detail" > "$OUT/events.csv"
  echo "epoch,elapsed_s,name,pid,rss_kb,heap_used_kb,heap_committed_kb,fds,threads,data_kb" > "$OUT/samples.csv"
  echo "round,label,job,error,read_bytes,write_bytes,trim_bytes,read_iops,write_iops,trim_iops,runtime_ms,verify_failures,io_errors" > "$OUT/fio.csv"
  {
    echo "mode=$1"; echo "commit=$SOAK_COMMIT"; echo "jar=$SOAK_JAR"
    echo "jar_sha256=$(sha256sum "$JAR" | cut -d' ' -f1)"
    echo "minutes=$SOAK_MINUTES"; echo "sample_secs=$SOAK_SAMPLE_SECS"
    echo "started=$(date -u +%FT%TZ)"; echo "host=$(uname -srm), $(nproc) cores"
    java -version 2>&1 | head -1; fio --version
  } > "$OUT/meta.txt"
  trap soak_cleanup EXIT
  trap 'log "interrupted"; exit 130' INT TERM
  log "soak $1: out $OUT, tmp $TMP, commit $SOAK_COMMIT, $SOAK_MINUTES min"
}

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_proc NAME CMD... : start in the background, log to $OUT/logs/NAME.log (appended across
# restarts), register the PID.
start_proc() {
  local name=$1; shift
  echo "===== $(date -u +%FT%TZ) start: $*" >> "$OUT/logs/$name.log"
  "$@" >> "$OUT/logs/$name.log" 2>&1 &
  PIDS[$name]=$!
  echo "${PIDS[$name]}" > "$TMP/pid.$name"
  log "started $name pid ${PIDS[$name]}"
}

# wait_log NAME REGEX SECONDS : wait until the current instance's log shows REGEX.
wait_log() {
  local name=$1 re=$2 secs=$3 pid=${PIDS[$1]} t
  local from; from=$(grep -n '^===== ' "$OUT/logs/$name.log" | tail -1 | cut -d: -f1)
  for ((t = 0; t < secs * 10; t++)); do
    tail -n +"$from" "$OUT/logs/$name.log" | grep -qE "$re" && return 0
    kill -0 "$pid" 2>/dev/null || { log "$name (pid $pid) exited before '$re'"; return 1; }
    sleep 0.1
  done
  log "$name: no '$re' within ${secs}s"; return 1
}

# stop_proc NAME [TERM|KILL] [SECONDS] [OK_STATUS] : signal by PID, wait for the exit
# (bounded), record the exit status and how long the shutdown took. A SIGTERM stop must exit
# 0 (or OK_STATUS: etcd exits 143). Returns the exit status.
stop_proc() {
  local name=$1 sig=${2:-TERM} secs=${3:-60} ok=${4:-0} pid=${PIDS[$1]:-} t0 rc t
  [ -n "$pid" ] || return 0
  t0=$(date +%s%N)
  kill -s "$sig" "$pid" 2>/dev/null
  for ((t = 0; t < secs * 10; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    fail "$name pid $pid still running ${secs}s after SIG$sig; killing it"
    kill -9 "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null; rc=$?
  unset "PIDS[$name]"; rm -f "$TMP/pid.$name"
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  event "stop-$sig" "$name pid $pid exit $rc after ${ms} ms"
  if [ "$sig" = TERM ] && [ "$rc" != 0 ] && [ "$rc" != "$ok" ]; then fail "$name exited $rc on SIGTERM"; fi
  return "$rc"
}

# sampler: every SOAK_SAMPLE_SECS, one row per registered JVM (reads $TMP/pid.* so it sees
# restarts). data dirs to measure: $TMP/datadir.NAME contains a path.
sampler_loop() {
  while :; do
    local f name pid rss thr fds heap used comm dkb
    for f in "$TMP"/pid.*; do
      [ -e "$f" ] || continue
      name=${f##*/pid.}; pid=$(cat "$f" 2>/dev/null) || continue
      [ -d "/proc/$pid" ] || continue
      comm=$(cat "/proc/$pid/comm" 2>/dev/null)
      [ "$comm" = java ] || continue
      rss=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status" 2>/dev/null)
      thr=$(awk '/^Threads:/{print $2}' "/proc/$pid/status" 2>/dev/null)
      fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
      # S0C S1C S0U S1U EC EU OC OU ...: used = S0U+S1U+EU+OU, committed = S0C+S1C+EC+OC
      heap=$(timeout 10 jstat -gc "$pid" 2>/dev/null | awk 'NR==2{printf "%d,%d", $3+$4+$6+$8, $1+$2+$5+$7}')
      [ -n "$heap" ] || heap=","
      dkb=
      [ -f "$TMP/datadir.$name" ] && dkb=$(du -sk "$(cat "$TMP/datadir.$name")" 2>/dev/null | cut -f1)
      echo "$(now),$(elapsed),$name,$pid,$rss,$heap,$fds,$thr,$dkb" >> "$OUT/samples.csv"
    done
    local avail; avail=$(df -k --output=avail "$TMP" 2>/dev/null | tail -1)
    if [ -n "$avail" ] && [ "$avail" -lt $((SOAK_MIN_FREE_GIB << 20)) ]; then
      fail "only $((avail >> 10)) MiB free on the file system of $TMP: stopping the run"
      kill -TERM $$; return
    fi
    sleep "$SOAK_SAMPLE_SECS"
  done
}
start_sampler() { sampler_loop & SAMPLER_PID=$!; }

# run_fio ROUND LABEL JOBFILE [fio args...] : JSON to fio/ROUND-LABEL.json, messages to .log;
# one row per job in fio.csv. Returns 1 if any job had an error or a verify failure.
run_fio() {
  local round=$1 label=$2 job=$3; shift 3
  local base="$OUT/fio/$(printf %03d "$round")-$label"
  # in fio/: fio leaves its verify state files in the working directory
  (cd "$OUT/fio" && fio --output-format=json --output="$base.json" "$@" "$job") > "$base.log" 2>&1
  local rc=$?
  local vfail ioerr
  vfail=$(grep -cE 'verify: |verify failed|bad magic|bad header' "$base.log")
  ioerr=$(grep -cE 'io_u error|err=[ ]*[1-9]|error=' "$base.log")
  if [ -s "$base.json" ]; then
    sed -n '/^{/,$p' "$base.json" > "$base.clean.json"   # fio may print notes before the JSON
    local vo=0; case " $* " in *" --verify_only "*) vo=1;; esac
    # with --verify_only fio reports the skipped writes and trims as done: count only reads
    jq -r --arg r "$round" --arg l "$label" --arg v "$vfail" --arg e "$ioerr" --argjson vo "$vo" '.jobs[] |
      [$r, $l, .jobname, .error, .read.io_bytes, (if $vo == 1 then 0 else .write.io_bytes end),
       (if $vo == 1 then 0 else .trim.io_bytes end), (.read.iops|floor),
       (if $vo == 1 then 0 else (.write.iops|floor) end), (if $vo == 1 then 0 else (.trim.iops|floor) end),
       .job_runtime, $v, $e] | @csv' \
      "$base.clean.json" >> "$OUT/fio.csv" 2>/dev/null
  fi
  local jerr=0
  [ -s "$base.clean.json" ] && jerr=$(jq '[.jobs[].error] | map(select(. != 0)) | length' "$base.clean.json" 2>/dev/null || echo 1)
  if [ "$rc" != 0 ] || [ "$vfail" != 0 ] || [ "$ioerr" != 0 ] || [ "$jerr" != 0 ]; then
    fail "fio $label round $round: rc $rc, $jerr job(s) with errors, $vfail verify message(s), $ioerr error line(s); see $base.log"
    grep -E 'verify|err|error' "$base.log" | head -20 | sed 's/^/    /' >&2
    return 1
  fi
  return 0
}

# Workload geometry (MiB). Every job has its own region, so verification is meaningful.
layout() {
  : "${SEQ_MB:=2048}" "${RAND_MB:=192}" "${MIX_MB:=256}" "${TRIMW_MB:=128}" "${TRIM_MB:=256}" "${SCRATCH_MB:=0}"
  export SEQ_OFF=0
  export RAND_OFF=$((SEQ_OFF + SEQ_MB))
  export MIX_OFF=$((RAND_OFF + 2 * RAND_MB))
  export TRIMW_OFF=$((MIX_OFF + MIX_MB))
  export TRIM_OFF=$((TRIMW_OFF + TRIMW_MB))
  export SCRATCH_OFF=$((TRIM_OFF + TRIM_MB))
  export SEQ_MB RAND_MB MIX_MB TRIMW_MB TRIM_MB SCRATCH_MB
  export USED_MB=$((SCRATCH_OFF + SCRATCH_MB))
}

# The regions whose content is known after a completed round (for check.py).
check_regions() { # check_regions TAG
  echo "$((SEQ_OFF << 20)):$((SEQ_MB << 20)):tag:$1"
  echo "$((RAND_OFF << 20)):$((2 * RAND_MB << 20)):tag:$1"
  echo "$((MIX_OFF << 20)):$((MIX_MB << 20)):tag:$1"
  echo "$((TRIMW_OFF << 20)):$((TRIMW_MB << 20)):tag:$1"
  echo "$((TRIM_OFF << 20)):$((TRIM_MB << 20)):zero"
}

# round_env ROUND : the per-round tag written into every data block (stale data from an
# earlier round then fails check.py even though its crc32c is valid).
round_env() {
  export SOAK_SEED=$((1000 + $1))
  export SOAK_TAG=$(printf 'soakR%04d' "$1")
}

# content_check ROUND LABEL URI : every 4 KiB granule of the written regions carries this
# round's tag, the trimmed region reads as zeros.
content_check() {
  local round=$1 label=$2 uri=$3 base
  base="$OUT/fio/$(printf %03d "$round")-$label"
  if check_regions "$SOAK_TAG" | PATH=/usr/bin:$PATH timeout 900 $PY "$SOAK_DIR/check.py" "$uri" > "$base.log" 2>&1; then
    event check "round $round $label: $(tail -1 "$base.log")"
  else
    fail "content check round $round $label: $(tail -3 "$base.log" | tr '\n' ' ')"
  fi
}

summary() {
  {
    echo "# soak summary: $(grep '^mode=' "$OUT/meta.txt" | cut -d= -f2), commit $SOAK_COMMIT"
    echo "duration: $(elapsed) s ($(awk -v s="$(elapsed)" 'BEGIN{printf "%.1f", s/60}') min)"
    echo
    echo "## fio totals"
    awk -F, 'NR>1 { gsub(/"/,""); r+=$5; w+=$6; t+=$7; rt=$11; if ($4!=0) e++; v+=$12; ie+=$13; n++;
                   key=$2; lr[key]+=$5; lw[key]+=$6; lt[key]+=$7 }
      END { printf "jobs %d, read %.2f GB, written %.2f GB, trimmed %.2f GB, jobs with errors %d, verify-failure lines %d, error lines %d\n",
                   n, r/1e9, w/1e9, t/1e9, e, v, ie
            for (k in lr) printf "  %-14s read %.2f GB, written %.2f GB, trimmed %.2f GB\n", k, lr[k]/1e9, lw[k]/1e9, lt[k]/1e9 }' "$OUT/fio.csv"
    echo
    echo "## per job kind: mean IOPS over rounds (read/write/trim)"
    awk -F, 'NR>1 { gsub(/"/,""); k=$2"/"$3; n[k]++; ri[k]+=$8; wi[k]+=$9; ti[k]+=$10 }
      END { for (k in n) printf "  %-28s %8.0f %8.0f %8.0f  (%d runs)\n", k, ri[k]/n[k], wi[k]/n[k], ti[k]/n[k], n[k] }' "$OUT/fio.csv" | sort
    echo
    echo "## processes (first sample -> last sample, max; whole run, across restarts)"
    echo "  name: rss MiB | heap used MiB | heap committed MiB | fds | threads | data MiB"
    awk -F, 'NR>1 && $5!="" { n=$3
        if (!(n in f)) { f[n]=1; for (i=5;i<=10;i++) s[n,i]=$i }
        for (i=5;i<=10;i++) { e[n,i]=$i; if ($i+0 > m[n,i]+0) m[n,i]=$i }
        c[n]++; if (!((n, $4) in seen)) { seen[n, $4]=1; np[n]++ } }
      END { for (n in f) {
          printf "  %s (%d samples, %d pids):", n, c[n], np[n]
          for (i=5;i<=10;i++) { d=(i==8||i==9)?1:1024
            if (i==10 && s[n,i]=="") { printf " | -"; continue }
            printf " %s %.0f->%.0f max %.0f", (i==5?"":"|"), s[n,i]/d, e[n,i]/d, m[n,i]/d }
          printf "\n" } }' "$OUT/samples.csv" | sort
    echo
    echo "## per process instance (pid): rss MiB first->last max, heap used MiB first->last max, fds first->last max, threads first->last max"
    awk -F, 'NR>1 && $5!="" { k=$3" pid "$4
        if (!(k in f)) { f[k]=$2; for (i=5;i<=9;i++) s[k,i]=$i }
        l[k]=$2; for (i=5;i<=9;i++) { e[k,i]=$i; if ($i+0 > m[k,i]+0) m[k,i]=$i } }
      END { for (k in f) printf "  %-22s t=%ss..%ss  rss %.0f->%.0f max %.0f | heap %.0f->%.0f max %.0f | fds %d->%d max %d | threads %d->%d max %d\n",
          k, f[k], l[k], s[k,5]/1024, e[k,5]/1024, m[k,5]/1024, s[k,6]/1024, e[k,6]/1024, m[k,6]/1024,
          s[k,8], e[k,8], m[k,8], s[k,9], e[k,9], m[k,9] }' "$OUT/samples.csv" | sort -t= -k2 -n
    echo
    echo "## per process instance with >= 8 samples: mean of the first quarter of its samples -> mean of the last quarter"
    awk -F, 'NR>1 && $5!="" { k=$3" pid "$4; n[k]++; for (i=5;i<=9;i++) v[k, n[k], i]=$i }
      END { for (k in n) { if (n[k] < 8) continue; q=int(n[k]/4)
          for (i=5;i<=9;i++) { a[i]=0; b[i]=0; for (j=1;j<=q;j++) { a[i]+=v[k,j,i]; b[i]+=v[k,n[k]-q+j,i] } a[i]/=q; b[i]/=q }
          printf "  %-22s %d samples: rss %.0f->%.0f MiB | heap used %.0f->%.0f MiB | heap committed %.0f->%.0f MiB | fds %.1f->%.1f | threads %.1f->%.1f\n",
            k, n[k], a[5]/1024, b[5]/1024, a[6]/1024, b[6]/1024, a[7]/1024, b[7]/1024, a[8], b[8], a[9], b[9] } }' "$OUT/samples.csv" | sort
    echo
    echo "## restarts and checks"
    awk -F, 'NR>1 { print $3 }' "$OUT/events.csv" | sort | uniq -c | sed 's/^/  /'
    echo
    echo "## WARN/ERROR lines in process logs"
    for f in "$OUT"/logs/*.log; do
      printf '  %s: %s WARN, %s ERROR\n' "${f##*/}" "$(grep -cE '\[WARN\]| WARN ' "$f")" "$(grep -cE '\[ERROR\]| ERROR ' "$f")"
      # the most frequent kinds (digits and ids folded)
      grep -hE '\[(WARN|ERROR)\]| (WARN|ERROR) ' "$f" | cut -c1-110 | sed -E 's/[0-9a-f]{8}-[0-9a-f-]{27}/ID/g; s/[0-9]+/N/g' \
        | sort | uniq -c | sort -rn | head -5 | sed 's/^/      /'
    done
    echo
    echo "failures: $(failures)"
    [ "$(failures)" = 0 ] && echo "RESULT: PASS" || { echo "RESULT: FAIL"; grep ',FAILURE,' "$OUT/events.csv" | sed 's/^/  /'; }
  } > "$OUT/summary.txt"
  cat "$OUT/summary.txt"
  # a run with many failed puts logs a WARN per block: keep big logs, compressed
  find "$OUT/logs" -name '*.log' -size +20M -exec gzip -f {} \;
}

soak_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$SAMPLER_PID" ] && { kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; }
  local name
  for name in "${!PIDS[@]}"; do
    kill -0 "${PIDS[$name]}" 2>/dev/null && { log "cleanup: stopping $name pid ${PIDS[$name]}"; stop_proc "$name" TERM 30 143 || true; }
  done
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then
    if [ "$SOAK_KEEP_DATA" = 1 ]; then log "kept data in $TMP"; else rm -rf "$TMP"; fi
  fi
  [ -n "$OUT" ] && echo "finished=$(date -u +%FT%TZ) rc=$rc failures=$(failures)" >> "$OUT/meta.txt"
  exit "$rc"
}
