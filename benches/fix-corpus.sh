#!/usr/bin/env bash
# `nbguard fix` on real notebooks: plants synthetic credentials into copies of the shared corpus
# (an AWS key id and a password in one code cell, the key printed into a stream output), runs
# `fix`, and checks the result with nbformat (from the test virtualenv), a line diff and a second
# run. Time is given as a ratio to `nbguard scan` of the same planted tree, measured in the same
# run. Usage: benches/fix-corpus.sh [corpus-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/notebooks}
py=target/test-venv/bin/python
[ -x "$py" ] || { echo "run scripts/test.sh once first (it makes $py with nbformat)" >&2; exit 2; }
cargo build --release --quiet
bin=$PWD/target/release/nbguard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/repo"
python3 benches/fix/plant.py "$corpus" "$work/repo"
cd "$work/repo"
git init -q . && git add -A && git -c user.name=b -c user.email=b@example.com commit -qm planted
ms() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
scan_ms=$(ms "$bin" scan --no-config .)
s=$(date +%s%N); "$bin" fix --no-config . > "$work/fix.txt" || true; e=$(date +%s%N)
fix_ms=$(( (e - s) / 1000000 ))
for a in moved masked cleared left; do echo "$a: $(grep -c "^  $a" "$work/fix.txt" || true)"; done
grep "^  left" "$work/fix.txt" | sed 's/.*: //' | sort | uniq -c || true
"$OLDPWD/$py" "$OLDPWD/benches/fix/check.py" "$work/repo" 2>/dev/null | tail -1
git add -A && git -c user.name=b -c user.email=b@example.com commit -qm fixed
"$bin" fix --no-config . > /dev/null || true
echo "files changed by a second fix: $(git status --porcelain | wc -l)"
echo "scan: ${scan_ms} ms, fix: ${fix_ms} ms, ratio fix/scan: $(awk -v a="$fix_ms" -v b="$scan_ms" 'BEGIN {printf "%.1f", a / (b > 0 ? b : 1)}')x"
