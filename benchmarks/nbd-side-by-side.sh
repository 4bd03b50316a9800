#!/bin/sh
# End-to-end NBD benchmark: our export vs nbdkit memory, same fio jobs and nbdcopy runs.
# Usage: benchmarks/nbd-side-by-side.sh [seconds-per-job] [size-MiB]
set -e
cd "$(dirname "$0")/.."
mvn -B -ntp -q -pl benchmarks -am package -DskipTests
exec java -Xmx8g -cp benchmarks/target/benchmarks.jar \
  io.torus.benchmarks.nbd.NbdSideBySide "$@"
