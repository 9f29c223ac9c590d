#!/usr/bin/env bash
# The whole cpu-small pipeline (Chao et al. 2022 §5 at CPU size) on the 4,000 real CIFAR-10
# training images in ../shared/data: score model → CE and DLSM+CE classifiers → guided samples
# of every class (α = 1, and α = 10) → evaluation of the DLSM+CE-guided samples with the CE
# classifier's features.
# Prints the wall time of each stage. Run from the repository root:
#   bash examples/cifar/cpu-small.sh [extra options for every command, e.g. --seed 1]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=out/cifar-small
cifar() { node --conditions=@scorekit/source --import tsx examples/cifar/src/main.ts "$@"; }
stage() {
  local name=$1; shift
  local t0=$SECONDS
  cifar "$@"
  echo "== $name: $((SECONDS - t0)) s"
}
stage train-score      train-score      --preset cpu-small "$@"
stage classifier-ce    train-classifier --preset cpu-small --loss ce "$@"
stage classifier-total train-classifier --preset cpu-small --loss total --score $out/score "$@"
stage sample           sample           --preset cpu-small --score $out/score \
                                        --classifier $out/classifier-total "$@"
stage evaluate         evaluate         --preset cpu-small --samples $out/samples \
                                        --extractor classifier:$out/classifier-ce "$@"
# the "scaling" variant (α = 10): stronger class dependence, less diversity
stage sample-scale10   sample           --preset cpu-small --score $out/score \
                                        --classifier $out/classifier-total --scale 10 \
                                        --out $out/samples-scale10 "$@"
stage evaluate-scale10 evaluate         --preset cpu-small --samples $out/samples-scale10 \
                                        --extractor classifier:$out/classifier-ce \
                                        --out $out/evaluation-scale10 "$@"
echo "sample grids: $out/samples/classes.png, $out/samples-scale10/classes.png"
