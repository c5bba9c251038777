"""Per-cell cost of the IPython extension, measured in-process on IPython's own shell.

Each kind of clean cell is run in batches, alternately without and with `%load_ext nbguard`;
the report is the median time per cell of each, their difference (what the extension adds) and
ratio. Run by benches/kernel.sh, which builds the wheel and the virtualenv this needs.
"""

import io
import statistics
import sys
import time

from IPython.core.interactiveshell import InteractiveShell

CELLS = {
    "assignment": "x = 1",
    "print 20 lines": "for i in range(20):\n    print('row', i, i * 3.5)",
    "HTML table, 50 rows": (
        "from IPython.display import HTML, display\n"
        "display(HTML('<table>' + ''.join(f'<tr><td>{i}</td><td>{i*i}</td><td>user {i}</td></tr>'"
        " for i in range(50)) + '</table>'))"
    ),
}


class Discard(io.TextIOBase):
    """A Python-level stream, as ipykernel's OutStream is, that throws output away."""

    def write(self, s):
        return len(s)

    def writable(self):
        return True


def per_cell(ip, source, n):
    started = time.perf_counter()
    for _ in range(n):
        ip.run_cell(source, store_history=False)
    return (time.perf_counter() - started) / n


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    ip = InteractiveShell.instance()
    real_stdout = sys.stdout
    sys.stdout = Discard()
    results = {}
    try:
        for name, source in CELLS.items():
            ip.run_cell(source)  # warm up imports and caches
            without, with_ext = [], []
            for r in range(rounds):
                # Alternate which goes first, so that drift on a busy machine cancels out.
                if r % 2 == 0:
                    without.append(per_cell(ip, source, n))
                ip.run_line_magic("load_ext", "nbguard")
                per_cell(ip, source, 2)  # the checker's first answers
                with_ext.append(per_cell(ip, source, n))
                ip.run_line_magic("unload_ext", "nbguard")
                if r % 2 == 1:
                    without.append(per_cell(ip, source, n))
            results[name] = (statistics.median(without), statistics.median(with_ext))
    finally:
        sys.stdout = real_stdout
    print(f"{rounds} rounds of {n} cells each; medians per cell")
    print(f"{'cell':<22} {'without':>10} {'with nbguard':>13} {'added':>9} {'ratio':>6}")
    for name, (a, b) in results.items():
        print(f"{name:<22} {a*1e3:>8.3f}ms {b*1e3:>11.3f}ms {(b-a)*1e3:>7.3f}ms {b/a:>5.2f}x")


if __name__ == "__main__":
    main()
