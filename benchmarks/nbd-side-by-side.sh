#!/bin/sh
# End-to-end NBD benchmark: our export vs the matching nbdkit plugin in three setups
# (a: one node, memory store; b: one node, file store; c: etcd + 3 peers + torus nbd),
# the same fio, nbdcopy and pgbench jobs against both; a Markdown table per setup.
#
#   benchmarks/nbd-side-by-side.sh [--setups a,b,c] [--jfr] [--pgbench-seconds N]
#       [--no-pgbench] [--encrypted] [--erasure K+M] [--out DIR] [--tmp DIR]
#       [--torus-jar JAR] [seconds] [size-MiB]
#
# --encrypted also runs our side on an encrypted volume (column encrypted/plain).
# --erasure K+M also runs our side of setup c on a K+M erasure-coded volume on the same
# cluster (column erasure/replicated); c then starts max(3, K+M) peers, -Xmx512m each up to
# 6 peers, past that 3 GiB shared (at least 256 MiB each). Setups a and b ignore it.
#
# NBD_BENCH_BUILD=0 skips the build (uses the jars already in the tree).
set -e
cd "$(dirname "$0")/.."
if [ "${NBD_BENCH_BUILD:-1}" != 0 ]; then
  mvn -B -ntp -q -pl benchmarks,torus-examples -am package -DskipTests
fi
exec java -Xmx512m -cp benchmarks/target/benchmarks.jar \
  io.torus.benchmarks.nbd.NbdSideBySide "$@"
