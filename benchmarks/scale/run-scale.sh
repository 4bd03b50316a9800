#!/usr/bin/env bash
# The scale harness (see src-docs/scale.md): for each cluster size, a fresh 3-member etcd on
# loopback, N in-process peers spread over child JVMs, and the measurements of ScalePoint.
# Results are appended to OUT/scale-results.tsv; the SVG plots are redrawn from that file.
#
# Usage: benchmarks/scale/run-scale.sh [SIZES] [JVMS] [HEAP] [OUT]
#   SIZES  comma-separated peer counts (default 50,100,250)
#   JVMS   child JVMs hosting the peers (default 2)
#   HEAP   -Xmx of each child JVM (default 3g)
#   OUT    output directory (default benchmarks/scale/out)
# Extra options for ScaleRun (--window, --store-mib, --data-mib, --volume-mib) may follow
# the four positional arguments.
#
# Needs: benchmarks/target/benchmarks.jar (mvn -pl torus-core,benchmarks -am package
# -DskipTests) and etcd on the PATH (apt-get install etcd-server). Every process it starts
# is stopped by PID at the end, also when it fails: the etcd members by the harness, the
# child JVMs when their input closes.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES=${1:-50,100,250}
JVMS=${2:-2}
HEAP=${3:-3g}
OUT=${4:-benchmarks/scale/out}
shift $(( $# < 4 ? $# : 4 )) || true
JAR=benchmarks/target/benchmarks.jar
[ -f "$JAR" ] || { echo "build first: mvn -B -o -pl torus-core,benchmarks -am package -DskipTests" >&2; exit 2; }
command -v etcd >/dev/null || { echo "etcd not found: apt-get install etcd-server" >&2; exit 2; }
mkdir -p "$OUT"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(java -version 2>&1 | head -1)"
nice -n 10 java -Xmx1g -cp "$JAR" io.torus.benchmarks.scale.ScaleRun \
  --peers "$SIZES" --jvms "$JVMS" --heap "$HEAP" --out "$OUT" "$@" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' INT TERM
wait "$PID"
echo "results: $OUT/scale-results.tsv; plots: $OUT/scale-*.svg"
