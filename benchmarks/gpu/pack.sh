#!/usr/bin/env bash
# Run here, on the machine without a GPU, before a run on the device machine: puts into
# .gpu/ (ignored by git) what the GPU run reads, to be named in the device tool's `carry`:
# the CIFAR-10 JPEGs and the NAS-Bench-201 table from ../shared/data (which does not travel),
# compressed, and the checkpoints a finished piece sent back (the parts of ck.tgz, which
# the next piece continues from).
#
#   bash benchmarks/gpu/pack.sh                          # before the first piece
#   bash benchmarks/gpu/pack.sh /work/.device/N/ck.tgz.*  # before each next one
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${SHARED_DATA:-../shared/data}
mkdir -p .gpu/ck
[ -f .gpu/cifar10-jpg.tgz ] || tar -C "$shared" -czf .gpu/cifar10-jpg.tgz cifar10-jpg
[ -f .gpu/nats_bench.csv.gz ] || gzip -c "$shared/nats_bench.csv" >.gpu/nats_bench.csv.gz
if [ $# -gt 0 ]; then cat "$@" | tar -C .gpu -xzf -; fi
du -sh .gpu
ls .gpu/ck
