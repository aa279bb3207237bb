#!/usr/bin/env bash
# On a machine with a CUDA GPU (the lent device machine): the gpu-marked tests, the app's tests (their models go to
# the GPU by themselves: device "auto"), then the GPU benchmark, in one short go. Usage: bash benchmarks/gpu.sh
# Writes test-artifacts/gpu-tests.log and the "GPU: fill-mask in float16" section of benchmarks/RESULTS.md.
set -uo pipefail
cd "$(dirname "$0")/.."
make .venv/.dev-deps >/dev/null || exit 1
mkdir -p test-artifacts
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee test-artifacts/gpu.txt
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py tests/test_devices.py 2>&1 \
  | tee test-artifacts/gpu-tests.log || status=1
.venv/bin/python -m pytest -q -p no:cacheprovider -x tests/test_app.py 2>&1 | tail -5 \
  | tee -a test-artifacts/gpu-tests.log || status=1
.venv/bin/python -m benchmarks.bench_gpu "$@" || status=1
exit $status
