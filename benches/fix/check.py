#!/usr/bin/env python3
"""After `nbguard fix`: every changed notebook validates with nbformat, only lines holding a
planted secret changed (plus `import os`), and no planted secret is left anywhere."""
import difflib, json, os, sys, subprocess
import nbformat
base = sys.argv[1]
planted = json.load(open(os.path.join(os.path.dirname(base.rstrip("/")), "planted.json")))
was_invalid = bad_valid = bad_lines = left_secret = changed = imports = 0
for rel, secrets in planted.items():
    p = os.path.join(base, rel)
    before = subprocess.run(["git", "-C", base, "show", "HEAD:" + rel], capture_output=True, text=True).stdout
    after = open(p, encoding="utf-8").read()
    if before == after:
        continue
    changed += 1
    def valid(t):
        try:
            nbformat.validate(nbformat.reads(t, as_version=nbformat.NO_CONVERT))
            return True
        except Exception:
            return False
    if valid(before) and not valid(after):
        bad_valid += 1
        print("INVALID", rel)
    if not valid(before):
        was_invalid += 1
    a, b = before.splitlines(), after.splitlines()
    gone, new = [], []
    for op in difflib.ndiff(a, b):
        if op.startswith("- "): gone.append(op[2:])
        if op.startswith("+ "): new.append(op[2:])
    imp = [l for l in new if l.strip() == '"import os\\n",']
    imports += len(imp)
    if any(not any(s in l for s in secrets) for l in gone) or len(new) != len(gone) + len(imp):
        bad_lines += 1
        print("LINES", rel, gone[:3], new[:4])
    if any(s in after for s in secrets):
        left_secret += 1
print(f"changed={changed} originally_invalid={was_invalid} made_invalid={bad_valid} unexpected_line_changes={bad_lines} imports_added={imports} notebooks_still_holding_a_planted_secret={left_secret} of {len(planted)}")
