#!/usr/bin/env bash
# Run on the device machine (its python3 has PyTorch; carry .gpu, made by pack.sh): one
# piece of the paper-scale NAS-Bench-201 one-shot search of benchmarks/oneshot_nb201.py
# (all 25,000 + 25,000 CIFAR-10 training images, 16 channels, 5 cells per stage, 50 epochs,
# batch 64), continuing from the checkpoints in .gpu/ck and stopping before an epoch that
# would end after LIMIT seconds. The log, the results JSON and the checkpoints come back
# under $OUT, the checkpoints as ck.tgz in parts of 15 MiB (the device tool brings back no
# file over 16 MiB); pack.sh puts them back for the next piece. Extra arguments go to
# the benchmark after the paper's flags (a CPU smoke test: DEVICE=cpu ... --rows 400).
#
#   METHODS=enas SEEDS=1000 bash benchmarks/gpu/nb201_piece.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
methods=${METHODS:-enas}
seeds=${SEEDS:-1000}
out=${OUT:-/tmp/gpu-out}
data=$(mktemp -d)
mkdir -p "$out"
tar -C "$data" -xzf .gpu/cifar10-jpg.tgz
gunzip -c .gpu/nats_bench.csv.gz >"$data/nats_bench.csv"
# shellcheck disable=SC2086  # METHODS and SEEDS are lists
PYTHONPATH=. PYTHONUNBUFFERED=1 python3 benchmarks/oneshot_nb201.py \
    --data-dir "$data/cifar10-jpg" --table "$data/nats_bench.csv" \
    --rows 50000 --size 32 --channels 16 --cells 5 --epochs 50 --batch 64 \
    --device "${DEVICE:-cuda}" --methods $methods --seeds $seeds \
    --checkpoint-dir .gpu/ck --time-limit "${LIMIT:-530}" \
    --out "$out/oneshot_nb201_full.json" "$@" 2>&1 | tee "$out/log.txt"
tar -C .gpu -czf - ck | split -b 15m - "$out/ck.tgz."
ls -l "$out"
