#!/usr/bin/env bash
# The pre-receive gate under load: a client repository with N commits that each edit and
# "re-execute" a real notebook (one code cell gains a line, execution counts change, the cell's
# output changes), pushed on top of an already accepted base. For each N it measures, in the same
# run (ratios travel, absolute times do not):
#   push -hook   `git push` wall time into a bare repository without the hook
#   push +hook   the same push into a bare repository with `nbguard hook install --server`
#   hook alone   `nbguard pre-receive` replaying that push's ref line in the hook-less repository
#                (same commits, no quarantine), median of $RUNS
# Usage: benches/push.sh [N...]            (default: 1 100 5000; RUNS=3, CORPUS=... to override)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${CORPUS:-../shared/corpus/notebooks}
runs=${RUNS:-3}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 100 5000)
cargo build --release --quiet
bin=$PWD/target/release/nbguard
work=$(mktemp -d "${TMPDIR:-/tmp}/nbguard-push-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# An isolated git: no user or system config, fixed identity.
export HOME=$work/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
  NBGUARD_SYSTEM_CONFIG=/nonexistent/nbguard.toml LC_ALL=C NO_COLOR=1 \
  GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com \
  GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Real notebooks of moderate size on which nbguard finds nothing, so every push is accepted and
# the numbers measure a decision to let through (the full scan), not an early rejection.
find "$corpus" -name '*.ipynb' -size +8k -size -120k | sort | sed -n 1,60p > "$work/candidates"
"$bin" scan --no-config -f json $(cat "$work/candidates") > "$work/scan.json" 2>/dev/null || true
python3 - "$work/candidates" "$work/scan.json" > "$work/notebooks" <<'EOF'
import json, sys
candidates = open(sys.argv[1]).read().split("\n")
flagged = {f["path"] for f in json.load(open(sys.argv[2]))["findings"]}
clean = []
for p in filter(None, candidates):
    try:
        nb = json.load(open(p))
    except Exception:
        continue
    if p not in flagged and any(c.get("cell_type") == "code" for c in nb.get("cells", [])):
        clean.append(p)
print("\n".join(clean[:20]))
EOF
[ -s "$work/notebooks" ] || { echo "no clean notebooks found in $corpus" >&2; exit 1; }

# Writes a git fast-import stream: a base commit with every notebook, then N commits.
cat > "$work/gen.py" <<'EOF'
import json, sys
paths, n = open(sys.argv[1]).read().split(), int(sys.argv[2])
out = sys.stdout.buffer
books = [json.load(open(p)) for p in paths]
names = [f"nb/{i:02d}-{p.rsplit('/', 1)[-1]}" for i, p in enumerate(paths)]
when = 1700000000

def dump(nb):
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()

def commit(msg, files):
    global when
    when += 60
    out.write(b"commit refs/heads/main\n")
    out.write(f"committer Bench <bench@example.com> {when} +0000\n".encode())
    m = msg.encode()
    out.write(b"data %d\n%s\n" % (len(m), m))
    for name, data in files:
        out.write(f"M 100644 inline {name}\n".encode())
        out.write(b"data %d\n%s\n" % (len(data), data))

commit("base: the notebooks", [(nm, dump(nb)) for nm, nb in zip(names, books)])
for i in range(n):
    j = i % len(books)
    nb = books[j]
    code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    cell = code[(i // len(books)) % len(code)]
    src = cell.get("source", [])
    if isinstance(src, str):
        src = src.split("\n")
        src = [s + "\n" for s in src[:-1]] + [src[-1]]
    if src and not src[-1].endswith("\n"):
        src[-1] += "\n"
    cell["source"] = src + [f"step_{i} = {i} * 2"]
    for k, c in enumerate(code):  # re-executed top to bottom
        c["execution_count"] = k + 1 + i
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [f"step {i} done\n"]}]
    commit(f"edit cell of {names[j]} (step {i})", [(names[j], dump(nb))])
EOF

printf '| commits | pushed MB | push -hook | push +hook | difference | hook alone | commits/s |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|\n'
for n in "${sizes[@]}"; do
  d=$work/n$n
  git init -q -b main "$d/client"
  python3 "$work/gen.py" "$work/notebooks" "$n" | git -C "$d/client" fast-import --quiet
  git -C "$d/client" reset -q --hard main
  tip=$(git -C "$d/client" rev-parse main)
  base=$(git -C "$d/client" rev-list --max-parents=0 main)
  mb=$(git -C "$d/client" rev-list --objects "$base..$tip" | cut -d' ' -f1 |
    git -C "$d/client" cat-file --batch-check='%(objectsize)' |
    awk '{s += $1} END {printf "%.1f", s / 1048576}')
  for side in plain hooked; do
    git init -q --bare "$d/$side.git"
    git -C "$d/client" push -q "$d/$side.git" "$base:refs/heads/main"
  done
  "$bin" hook install --server --repo "$d/hooked.git" --command "$bin" > /dev/null
  push_ms() { # side -> ms of one push of base..tip, then the ref is put back
    local s e
    s=$(now_ms)
    git -C "$d/client" push -q "$d/$1.git" main 2> "$d/$1.err" || { cat "$d/$1.err" >&2; exit 1; }
    e=$(now_ms)
    git -C "$d/$1.git" update-ref refs/heads/main "$base"
    echo $((e - s))
  }
  plain=$(for _ in $(seq "$runs"); do push_ms plain; done | median)
  hooked=$(for _ in $(seq "$runs"); do push_ms hooked; done | median)
  # The objects stay in the hook-less repository; with main back at base, the replayed ref line
  # makes every one of the N commits new again, as in a real push.
  alone=$(for _ in $(seq "$runs"); do
    s=$(now_ms)
    printf '%s %s refs/heads/main\n' "$base" "$tip" |
      (cd "$d/plain.git" && GIT_DIR=. "$bin" pre-receive > /dev/null 2> "$d/alone.err") ||
      { cat "$d/alone.err" >&2; exit 1; }
    e=$(now_ms)
    echo $((e - s))
  done | median)
  rate=$(awk -v n="$n" -v t="$alone" 'BEGIN {printf "%.0f", n / (t > 0 ? t : 1) * 1000}')
  printf '| %s | %s | %s ms | %s ms | %s ms | %s ms | %s |\n' \
    "$n" "$mb" "$plain" "$hooked" "$((hooked - plain))" "$alone" "$rate"
  rm -rf "$d"
done
echo
echo "$(nproc) cores; $(wc -l < "$work/notebooks") notebooks from $corpus; medians of $runs runs."
