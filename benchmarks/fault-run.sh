#!/usr/bin/env bash
# The long fault run (src-docs/reliability.md): FaultSuite for DURATION (default 30m) with Java
# API and NBD writers. Usage: benchmarks/fault-run.sh [DURATION] [SEED]
#   FAULT_NBD=false: Java API writers only; FAULT_DUMP=always: keep history and logs of a pass
#   DURATION: 30m, 2h (as minutes: 120m), 600 (seconds), or ISO-8601 (PT1H)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-30m}"
SEED="${2:-}"
case "$DURATION" in *h) DURATION="$(( ${DURATION%h} * 60 ))m" ;; esac
# Rebuilt when asked, when missing, or when a source it contains is newer than it.
JAR=benchmarks/target/benchmarks.jar
if [ ! -f "$JAR" ] || [ -n "${REBUILD:-}" ] || [ -n "$(find torus-core/src torus-nbd/src \
    benchmarks/src -newer "$JAR" -type f -print -quit 2>/dev/null)" ]; then
  mvn -B -ntp -q -pl benchmarks -am package -DskipTests
fi
PATH=/usr/bin:$PATH python3 -c 'import nbd' 2>/dev/null || {
  echo "libnbd's Python binding is missing: apt-get install -y python3-libnbd" >&2; exit 2; }
command -v etcd >/dev/null || { echo "etcd is missing: apt-get install -y etcd-server" >&2; exit 2; }
mkdir -p benchmarks/target/fault
exec java -Xmx512m -Dtorus.fault.duration="$DURATION" ${SEED:+-Dtorus.fault.seed=$SEED} \
  ${FAULT_NBD:+-Dtorus.fault.nbd=$FAULT_NBD} ${FAULT_DUMP:+-Dtorus.fault.dump=$FAULT_DUMP} \
  -cp benchmarks/target/benchmarks.jar io.torus.benchmarks.fault.LongFaultRun benchmarks/target/fault
