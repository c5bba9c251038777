#!/usr/bin/env bash
# What one large text file costs: a generated CSV of SIZE_MB (default 1024) scanned by
# `nbguard scan` (over scan.max_file_size, so streamed in windows), against `cat` of the same file in
# the same run. Prints wall time and peak resident memory (from /usr/bin/time -v) of both.
# Usage: benches/large.sh [size-mb] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1024}
runs=${2:-3}
cargo build --release --quiet
bin=target/release/nbguard
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file=$dir/large.csv

# Rows of realistic width with a few numbers, dates and words; no secrets.
python3 - "$file" "$size_mb" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
rows = "".join(
    f"2026-{m:02d}-{d:02d},store-{s:04d},customer-{c:06d},basket,{c % 997}.{s % 100:02d},paid\n"
    for m, d, s, c in ((1 + i % 12, 1 + i % 28, i % 5000, i * 7919 % 1000000) for i in range(20000))
).encode()
with open(path, "wb") as f:
    left = mb << 20
    while left > 0:
        f.write(rows[:left])
        left -= len(rows)
PY

# Prints "<wall seconds> <peak KB> <CPU seconds>" of one run (CPU time tells more than wall
# time on a machine shared with other work).
measure() {
  /usr/bin/time -v "$@" > /dev/null 2> "$dir/time" || true
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]}
              /Maximum resident set size/ {kb = $2}
              /User time|System time/ {cpu += $2}
              END {printf "%.2f %d %.2f\n", s, kb, cpu}' "$dir/time"
}
median() { sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }

cat "$file" > /dev/null # warm the page cache for both
for _ in $(seq "$runs"); do measure cat "$file"; done | median > "$dir/cat"
for _ in $(seq "$runs"); do measure "$bin" scan --no-config "$file"; done | median > "$dir/nbg"
read -r cat_s cat_kb cat_cpu < "$dir/cat"
read -r nbg_s nbg_kb nbg_cpu < "$dir/nbg"
echo "file: ${size_mb} MB of CSV text (over the limit: scanned in 4 MiB windows)"
echo "cat:     ${cat_s} s (CPU ${cat_cpu} s), peak RSS $((cat_kb / 1024)) MB (median of $runs)"
echo "nbguard: ${nbg_s} s (CPU ${nbg_cpu} s), peak RSS $((nbg_kb / 1024)) MB (median of $runs), $(awk -v m="$size_mb" -v t="$nbg_s" 'BEGIN {printf "%.0f", m / (t > 0 ? t : 1)}') MB/s"
echo "ratio nbguard/cat: $(awk -v a="$nbg_s" -v b="$cat_s" 'BEGIN {printf "%.1f", a / (b > 0 ? b : 0.01)}')x"
