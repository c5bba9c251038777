#!/usr/bin/env bash
# Real-world precision: audits the full history of public notebook-heavy repositories (listed in
# examples/realworld/repos.tsv), joins every blocking finding with the hand labels in
# examples/realworld/labels.tsv, and prints per repository how many blocking findings are real
# credentials (precision), how many are not, how many nobody labelled yet, and which labelled
# real credentials no longer block (a recall check on what we know is there).
#
# Usage: benches/realworld.sh [mirror-dir]
#   mirror-dir holds bare copies as <owner>+<name>/repo (default /work/.mirror, where the `fetch`
#   tool puts them); a repository missing there is cloned into target/realworld/ with
#   `git clone --mirror`. Findings are matched to labels by commit, path, line and column of the
#   first occurrence; labels never hold a secret value.
set -euo pipefail
cd "$(dirname "$0")/.."
mirrors=${1:-/work/.mirror}
out=target/realworld
mkdir -p "$out"
cargo build --release --quiet --bin nbguard
bin=target/release/nbguard

reports=()
while IFS=$'\t' read -r repo head; do
  [[ -z "$repo" || "$repo" == \#* ]] && continue
  slug=${repo/\//+}
  dir=$mirrors/$slug/repo
  if [ ! -d "$dir" ]; then
    dir=$out/$slug.git
    [ -d "$dir" ] || git clone --quiet --mirror "https://github.com/$repo.git" "$dir"
  fi
  now=$(git -C "$dir" rev-parse HEAD)
  [ "$now" = "$head" ] || echo "note: $repo is at $now, the labels were made at $head" >&2
  start=$(date +%s)
  # Exit status 1 only means findings block.
  "$bin" audit --no-config --no-progress --repo "$dir" --format json -o "$out/$slug.json" || [ $? -eq 1 ]
  echo "$repo: audited in $(( $(date +%s) - start )) s" >&2
  reports+=("$repo=$out/$slug.json")
done < examples/realworld/repos.tsv

python3 - examples/realworld/labels.tsv "${reports[@]}" <<'PY'
import csv, json, sys

labels = {}
with open(sys.argv[1], newline="") as f:
    for row in csv.reader(f, delimiter="\t"):
        if not row or row[0].startswith("#"):
            continue
        repo, commit, path, line, column, rule, verdict, reason = row
        labels[(repo, commit, path, int(line), int(column))] = (rule, verdict, reason)

total_t = total_f = 0
for arg in sys.argv[2:]:
    repo, report = arg.split("=", 1)
    groups = json.load(open(report))["findings"]
    blocking = [g for g in groups
                if g.get("suppressed") is None and g["severity"] in ("high", "critical")]
    seen, t, f, unlabelled = set(), 0, 0, []
    for g in blocking:
        o = g["occurrences"][0]
        key = (repo, o["commit"]["id"], o["path"], o["line"], o["column"])
        seen.add(key)
        label = labels.get(key)
        if label is None:
            unlabelled.append(f'{g["rule"]} {o["commit"]["id"][:10]} {o["path"]}:{o["line"]}:{o["column"]}')
        elif label[1] == "true":
            t += 1
        else:
            f += 1
    missed = [k for k, v in labels.items() if k[0] == repo and v[1] == "true" and k not in seen]
    precision = t / (t + f) if t + f else 1.0
    total_t += t
    total_f += f
    print(f"{repo}: {len(blocking)} blocking, {t} real, {f} false alarms, "
          f"{len(unlabelled)} unlabelled; precision {precision:.3f}; "
          f"labelled real credentials not blocking: {len(missed)}")
    for u in unlabelled:
        print(f"  unlabelled: {u}")
    for k in missed:
        print(f"  not blocking any more: {labels[k][0]} {k[1][:10]} {k[2]}:{k[3]}:{k[4]}")
print(f"all: {total_t} real, {total_f} false alarms; precision "
      f"{total_t / (total_t + total_f) if total_t + total_f else 1.0:.3f}")
PY
