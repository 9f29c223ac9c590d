#!/usr/bin/env bash
# The whole cpu-small pipeline (Chao et al. 2022 §5 at CPU size) on the 4,000 real CIFAR-10
# training images in ../shared/data, printing the wall time of each stage:
#   score model → "base" CE classifier, "ours" DLSM+CE classifier, and an independent CE
#   "judge" classifier (another seed) → samples of every class guided by ours (α = 1 and 10),
#   by base (α = 1) and unguided (α = 0) → each evaluated with the judge's features.
# Usage:  bash examples/cifar/cpu-small.sh [options for every command, e.g. --quiet, --data PATH]
# The script works from the repository root (relative paths in options are relative to it).
# PRESET (default cpu-small) and OUT (default the preset's out folder, out/cifar-small) may be
# set in the environment; --preset, --out, --seed and --resume are the script's own.
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=${PRESET:-cpu-small}
case $preset in
  cpu-small) out=${OUT:-out/cifar-small} ;;
  tiny) out=${OUT:-out/cifar-tiny} ;;
  paper) out=${OUT:-out/cifar-paper} ;;
  *) echo "PRESET: expected cpu-small, tiny or paper, got $preset" >&2; exit 2 ;;
esac
for a in "$@"; do
  case $a in
    --preset | --out | --seed | --resume)
      echo "$a: not an option of this script (set PRESET / OUT in the environment; seeds are fixed: 0, judge 1)" >&2
      exit 2
      ;;
  esac
done
cifar() { node --conditions=@scorekit/source --import tsx examples/cifar/src/main.ts "$@"; }
stage() { # name, command, its options
  local name=$1 command=$2
  shift 2
  local t0=$SECONDS
  cifar "$command" --preset "$preset" ${extra[@]+"${extra[@]}"} "$@"
  echo "== $name: $((SECONDS - t0)) s"
}
extra=("$@")
guided() { # name, guiding classifier, guidance scale α
  stage "sample $1" sample --score "$out/score" --classifier "$out/$2" --scale "$3" \
    --out "$out/samples-$1"
  stage "evaluate $1" evaluate --samples "$out/samples-$1" \
    --extractor "classifier:$out/classifier-judge" --out "$out/evaluation-$1"
}
stage "train-score" train-score --out "$out/score"
stage "classifier base (CE)" train-classifier --loss ce --out "$out/classifier-ce"
stage "classifier ours (DLSM+CE)" train-classifier --loss total --score "$out/score" \
  --out "$out/classifier-total"
# the judge: the same CE recipe from another seed, sharing no weights (nor data order) with base or ours
stage "classifier judge (CE, seed 1)" train-classifier --loss ce --seed 1 \
  --out "$out/classifier-judge"
guided ours classifier-total 1
guided ours-scale10 classifier-total 10
guided base classifier-ce 1
guided unguided classifier-total 0
echo "sample grids: $out/samples-*/classes.png; metrics: $out/evaluation-*/metrics.json"
