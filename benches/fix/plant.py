#!/usr/bin/env python3
"""Plants synthetic credentials into copies of the real corpus notebooks (a code-cell assignment,
a keyword argument, a printed value in a stream output) for measuring `nbguard fix`."""
import json, os, random, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
rng = random.Random(7)
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
planted = {}
n = 0
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith(".ipynb"):
            continue
        p = os.path.join(root, f)
        try:
            nb = json.load(open(p, encoding="utf-8"))
        except Exception:
            continue
        if nb.get("nbformat") != 4:
            continue
        code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code" and c.get("source")]
        if not code:
            continue
        n += 1
        key = "AK" + "IA" + "".join(rng.choice(B32) for _ in range(16))
        pw = "Qv" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10)) + "-9!"
        cell = code[len(code) // 2]
        lines = cell["source"] if isinstance(cell["source"], list) else cell["source"].splitlines(True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines += [f'aws_access_key_id = "{key}"\n', f"conn = connect(host='db', db_password='{pw}')"]
        cell["source"] = lines
        outs = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "stream"]
        if outs:
            t = outs[0]["text"]
            if isinstance(t, list):
                t.append(f"using key {key}\n")
            else:
                outs[0]["text"] = t + f"using key {key}\n"
        rel = os.path.relpath(p, src)
        out = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        indent = 1 if n % 2 else 2
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(nb, indent=indent, ensure_ascii=False) + "\n")
        planted[rel] = [key, pw]
json.dump(planted, open(os.path.join(os.path.dirname(dst.rstrip("/")), "planted.json"), "w"))
print(n, "notebooks planted")
