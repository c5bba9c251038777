#!/usr/bin/env bash
# Times `nbguard audit` on synthetic notebook histories (examples/gen_history) against
# `git cat-file --batch-all-objects --batch` on the same repository, measured in the same run
# (these machines are shared and noisy: ratios travel, absolute times do not).
#
# Usage: benches/audit.sh [runs] [commit counts...]      e.g. benches/audit.sh 3 1000 5000 20000
# Repositories are cached under target/bench-repos/ (delete one to regenerate it).
# Targets: audit within 1.5x of cat-file, peak RSS under 300 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 5000 20000)

cargo build --release --quiet --bin nbguard --example gen_history
bin=target/release/nbguard
gen=target/release/examples/gen_history
cache=target/bench-repos
mkdir -p "$cache"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
secs() { awk -v ms="$1" 'BEGIN {printf "%.2f", ms / 1000}'; }

rows=()
for n in "${sizes[@]}"; do
  repo=$cache/h$n
  if [ ! -f "$repo/HEAD" ]; then
    rm -rf "$repo"
    echo "generating $repo ($n commits)..." >&2
    "$gen" --out "$repo" --commits "$n" >&2
  fi
  # Unique blobs and their bytes, as the audit counts them (one warm-up run).
  # (exit status 1 only means findings block.)
  summary=$({ "$bin" audit --no-config --no-progress --repo "$repo" --format json || true; } | python3 -c \
    'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["blobs"], s["bytes"], s["findings"])')
  read -r blobs bytes findings <<< "$summary"
  cat_ms=$(for _ in $(seq "$runs"); do
    time_ms sh -c "git -C '$repo' cat-file --batch-all-objects --batch"; done | median)
  audit_ms=$(for _ in $(seq "$runs"); do
    time_ms "$bin" audit --no-config --repo "$repo" --format json -o /dev/null; done | median)
  rss=0
  if [ -x /usr/bin/time ]; then
    rss=$( { /usr/bin/time -f %M "$bin" audit --no-config --repo "$repo" --format json \
      -o /dev/null > /dev/null; } 2>&1 | tail -1 )
  fi
  mb=$(awk -v b="$bytes" 'BEGIN {printf "%.0f", b / 1048576}')
  ratio=$(awk -v a="$audit_ms" -v b="$cat_ms" 'BEGIN {printf "%.2f", a / (b > 0 ? b : 1)}')
  rows+=("| $n | $blobs | $mb | $(secs "$cat_ms") | $(secs "$audit_ms") | ${ratio}x | $((rss / 1024)) | $findings |")
done

echo
echo "nbguard audit vs git cat-file --batch-all-objects --batch (median of $runs runs each, $(nproc) cores)"
echo
echo "| commits | unique blobs | MB | cat-file s | audit s | audit/cat-file | peak RSS MB | findings |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "Targets: audit/cat-file <= 1.5x, peak RSS < 300 MB."
