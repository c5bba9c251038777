#!/usr/bin/env bash
# Scans the shared corpus of real notebooks and compares with `cat` of the same files, measured in
# the same run (these machines are noisy: ratios travel, absolute times do not).
# With a baseline binary (another build of nbguard), it is timed in the same run, interleaved.
# Usage: benches/corpus.sh [corpus-dir] [runs] [baseline-binary]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/notebooks}
runs=${2:-7}
baseline=${3:-}
cargo build --release --quiet
bin=target/release/nbguard
list=$(mktemp)
find "$corpus" -type f -print0 > "$list"
bytes=$(xargs -0 cat < "$list" | wc -c)
files=$(tr -cd '\0' < "$list" | wc -c)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }

for _ in $(seq "$runs"); do time_ms sh -c "xargs -0 cat < '$list'"; done | median > "$list.cat"
: > "$list.nbg"; : > "$list.base"
for _ in $(seq "$runs"); do
  time_ms "$bin" scan --no-config "$corpus" >> "$list.nbg"
  if [ -n "$baseline" ]; then time_ms "$baseline" scan --no-config "$corpus" >> "$list.base"; fi
done
cat_ms=$(cat "$list.cat"); nbg_ms=$(median < "$list.nbg")
rss=0
if [ -x /usr/bin/time ]; then
  rss=$( { /usr/bin/time -f %M "$bin" scan --no-config "$corpus" > /dev/null; } 2>&1 | tail -1 )
fi
mb=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}')
echo "corpus: $files files, $mb MB"
echo "cat:     ${cat_ms} ms (median of $runs)"
echo "nbguard: ${nbg_ms} ms (median of $runs), $(awk -v b="$bytes" -v t="$nbg_ms" 'BEGIN {printf "%.0f", b / 1048576 / (t / 1000)}') MB/s, peak RSS $((rss / 1024)) MB"
echo "ratio nbguard/cat: $(awk -v a="$nbg_ms" -v b="$cat_ms" 'BEGIN {printf "%.1f", a / (b > 0 ? b : 1)}')x"
if [ -n "$baseline" ]; then
  base_ms=$(median < "$list.base")
  echo "baseline: ${base_ms} ms (median of $runs, $baseline)"
  echo "ratio nbguard/baseline: $(awk -v a="$nbg_ms" -v b="$base_ms" 'BEGIN {printf "%.2f", a / (b > 0 ? b : 1)}')x"
fi
rm -f "$list" "$list.cat" "$list.nbg" "$list.base"
