#!/usr/bin/env bash
# Times `nbguard audit` over every ref of a real mirror (bare clone with refs/pull/*) against
# `git cat-file --batch-all-objects --batch` and, when NOSEYPARKER names its binary, Nosey
# Parker's full-history scan of the same mirror, all in the same run (shared machines are noisy:
# compare within a run). Peak RSS from GNU time.
#
# Usage: benches/mirror.sh MIRROR_GIT_DIR [runs]
#   e.g. NOSEYPARKER=/path/to/noseyparker benches/mirror.sh /work/.mirror/GoogleCloudPlatform+generative-ai/repo 3
# Targets: every ref audited, peak RSS < 300 MB, audit faster than Nosey Parker.
set -euo pipefail
cd "$(dirname "$0")/.."
mirror=${1:?usage: benches/mirror.sh MIRROR_GIT_DIR [runs]}
runs=${2:-3}
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 2; }

cargo build --release --quiet --bin nbguard
bin=target/release/nbguard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Runs a command, prints "milliseconds peak_rss_kb".
measure() {
  local s e
  s=$(date +%s%N)
  /usr/bin/time -o "$work/rss" -f %M "$@" > /dev/null 2>&1 || true
  e=$(date +%s%N)
  echo "$(( (e - s) / 1000000 )) $(tail -1 "$work/rss")"
}
# The commands take turns, run after run, so that a noisy spell on a shared machine falls on all
# of them alike rather than on whichever happened to be running.
names=()
commands=()
add() { # name, command (one string for bash -c)
  names+=("$1")
  commands+=("$2")
}
table() {
  local i r ms rss
  for r in $(seq "$runs"); do
    for i in "${!commands[@]}"; do
      measure bash -c "${commands[$i]}" >> "$work/m$i"
    done
  done
  for i in "${!commands[@]}"; do
    ms=$(awk '{print $1}' "$work/m$i" | median)
    rss=$(awk '{print $2}' "$work/m$i" | sort -n | tail -1)
    printf '| %s | %.1f | %d |\n' "${names[$i]}" "$(awk -v m="$ms" 'BEGIN {print m / 1000}')" "$((rss / 1024))"
  done
}

refs=$(git -C "$mirror" for-each-ref --format='%(refname)' | wc -l)
namespaces=$(git -C "$mirror" for-each-ref --format='%(refname)' | awk -F/ '{print $1"/"$2}' | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')
commits=$(git -C "$mirror" rev-list --all | wc -l)
pack=$(du -cm "$mirror"/objects/pack/*.pack | tail -1 | awk '{print $1}')

"$bin" audit --no-config --no-progress --repo "$mirror" --format json -o "$work/audit.json" || true
summary=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["summary"]; t=d["stats"]; print(s["refs"], s["blobs"], round(s["bytes"]/1048576), s["findings"], t["tips"])' "$work/audit.json")
read -r audited blobs mb findings tips <<< "$summary"

echo
echo "Mirror: $mirror — $refs refs ($namespaces), $commits commits, $pack MB of packs"
echo "nbguard audited $audited refs ($tips tips), $blobs unique blobs ($mb MB), $findings findings"
echo "Median of $runs runs (the commands taking turns), peak RSS the largest; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| what | seconds | peak RSS MB |"
echo "|---|---:|---:|"
export bin mirror work NOSEYPARKER
add "git cat-file --batch-all-objects --batch" 'git -C "$mirror" cat-file --batch-all-objects --batch'
add "nbguard audit (all refs)" '"$bin" audit --no-config --no-progress --repo "$mirror" --format json -o /dev/null'
if [ -n "${NOSEYPARKER:-}" ]; then
  # A fresh datastore per run: Nosey Parker skips what a datastore has already seen.
  add "Nosey Parker scan (full history)" 'rm -rf "$work/np.db"; "$NOSEYPARKER" scan --datastore "$work/np.db" --git-history full --progress never "$mirror"'
fi
table
[ -n "${NOSEYPARKER:-}" ] || echo "| Nosey Parker | not measured (set NOSEYPARKER) | |"
