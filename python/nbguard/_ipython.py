"""The IPython extension: after each cell runs, its source and everything it showed (printed
streams, rich display data, the cell's result, error tracebacks) go to ``nbguard serve`` as a
one-cell notebook, and a warning is displayed under the cell when nbguard finds a credential or
a table of personal data there. The warning names the rule, where it is and the masked value, and
says what to do; it never contains the value itself.

It lives in the kernel, so it works in every front end (JupyterLab, Notebook, VS Code, Colab).
What a cell shows is captured where IPython and ipykernel produce it: the ``write`` of the
standard streams (patched for the length of a cell, on the stream object itself so that
handlers holding it, such as a logging handler, are seen too), the display publisher, the
display hook and the traceback display. Nothing is changed in what the user sees.
"""

import html
import os
import re
import sys

from ._server import Server, Unavailable

#: Text captured from one cell beyond this is not checked (and the warning says so).
MAX_CAPTURE = 16 * 1024 * 1024

#: Binary mime types: nbguard does not scan them, so they are not sent.
_BINARY_MIME = ("image/", "audio/", "video/", "application/pdf")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

SECRET_ADVICE = (
    "Remove the value from the notebook and read it at run time instead: "
    "os.environ[...], getpass.getpass(), or your secret manager.",
    "A credential that was shared, committed or synced anywhere must be rotated (revoked and "
    "reissued), not only removed.",
)
PII_ADVICE = (
    "Show counts, aggregates or masked columns instead of the personal data itself.",
)
ADVICE = (
    "If it was printed or displayed, clear this cell's output, save, and run "
    "`nbguard fix` on the notebook: a saved notebook keeps outputs in the file and in "
    ".ipynb_checkpoints.",
    "A false positive: add `# nbguard: ignore[{rule}]` to the source line, tag the cell "
    "`nbguard-ignore`, or tune .nbguard.toml.",
)

_guard = None


def load(shell):
    global _guard
    if _guard is None:
        _guard = Guard(shell)
        _guard.register()


def unload(shell):
    global _guard
    if _guard is not None:
        _guard.unregister()
        _guard = None


class Guard:
    """The extension's state for one shell: the checker process and the current cell's capture."""

    def __init__(self, shell):
        self.shell = shell
        self.server = Server()
        self.depth = 0
        self.muted = 0
        self.source = ""
        self.outputs = []
        self.captured = 0
        self.truncated = False
        self.patches = []
        self.stream_patches = []
        self.path = None
        self.active = True

    # -- registration -------------------------------------------------------------------------

    def register(self):
        events = self.shell.events
        events.register("pre_run_cell", self.pre_run_cell)
        events.register("post_run_cell", self.post_run_cell)
        self._patch(self.shell.display_pub, "publish", self._on_publish)
        self._patch(self.shell.displayhook, "write_format_data", self._on_result)
        self._patch(self.shell, "_showtraceback", self._on_traceback)
        # Start now and ask about an empty notebook, so that a configuration mistake shows under
        # `%load_ext` and the first cell does not pay for the start.
        try:
            self.server.check("notebook.ipynb", _EMPTY_NOTEBOOK)
        except Unavailable as e:
            self._display_problem(str(e))

    def unregister(self):
        # IPython goes on with the callbacks it was calling when `%unload_ext` ran in a cell.
        self.active = False
        events = self.shell.events
        for name, callback in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            try:
                events.unregister(name, callback)
            except ValueError:
                pass
        self._unpatch_streams()
        for obj, name, previous in reversed(self.patches):
            if previous is _ABSENT:
                delattr(obj, name)
            else:
                setattr(obj, name, previous)
        self.patches = []
        self.server.close()

    def _patch(self, obj, name, record):
        original = getattr(obj, name)

        def wrapper(*args, **kwargs):
            if not self.depth:
                return original(*args, **kwargs)
            try:
                record(*args, **kwargs)
            except Exception:  # capturing must never break what the user sees
                pass
            # A terminal IPython prints results and tracebacks to stdout: already recorded.
            self.muted += 1
            try:
                return original(*args, **kwargs)
            finally:
                self.muted -= 1

        self.patches.append((obj, name, obj.__dict__.get(name, _ABSENT)))
        setattr(obj, name, wrapper)

    # -- one cell -----------------------------------------------------------------------------

    def pre_run_cell(self, info=None):
        self.depth += 1
        if self.depth > 1:  # a cell run from inside a cell belongs to the outer one
            return
        self.source = getattr(info, "raw_cell", None) or ""
        self.outputs = []
        self.captured = 0
        self.truncated = False
        self._patch_streams()

    def post_run_cell(self, result=None):
        if self.depth == 0 or not self.active:  # the `%load_ext` or `%unload_ext` cell
            return
        self.depth -= 1
        if self.depth:
            return
        self._unpatch_streams()
        try:
            self._check()
        except Exception as e:  # never a traceback from the extension under the user's cell
            self._display_problem(f"{type(e).__name__}: {e}")

    def _check(self):
        if self.path is None:
            self.path = notebook_path(self.shell)
        cell = {
            "cell_type": "code",
            "id": "cell",
            "metadata": {},
            "execution_count": None,
            "source": self.source,
            "outputs": self.outputs,
        }
        notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}
        try:
            reply = self.server.check(self.path, notebook)
        except Unavailable as e:
            self._display_problem(str(e))
            return
        findings = [f for f in reply.get("findings", []) if f.get("severity") != "info"]
        notes = [f"{d.get('kind')}: {d.get('message')}" for d in reply.get("diagnostics", [])]
        if self.truncated:
            notes.append(
                f"this cell showed more than {MAX_CAPTURE // (1024 * 1024)} MiB of text; "
                "only the first part was checked"
            )
        if findings or notes:
            text, markup = render(findings, notes, reply.get("blocked", False), self.outputs)
            _display(text, markup)

    def _display_problem(self, why):
        text = f"nbguard could not check this cell: {clean(why)}"
        _display(text, f'<div style="{_BOX}"><b>nbguard</b>: {html.escape(text)}</div>')

    # -- capture ------------------------------------------------------------------------------

    def _patch_streams(self):
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            record = self._stream_recorder(name, stream.write)
            try:
                # On the object itself (ipykernel's OutStream), so every holder of it is seen.
                stream.write = record
                self.stream_patches.append((stream, None))
            except (AttributeError, TypeError):
                # A built-in file object (a terminal IPython): swap in a forwarding proxy.
                setattr(sys, name, _Tee(stream, record))
                self.stream_patches.append((stream, name))

    def _unpatch_streams(self):
        for stream, replaced in reversed(self.stream_patches):
            if replaced is None:
                try:
                    del stream.write
                except AttributeError:
                    pass
            elif isinstance(getattr(sys, replaced), _Tee):
                setattr(sys, replaced, stream)
        self.stream_patches = []

    def _stream_recorder(self, name, write):
        def record(text):
            if not self.muted and isinstance(text, str) and self._room(len(text)):
                last = self.outputs[-1] if self.outputs else None
                if last and last["output_type"] == "stream" and last["name"] == name:
                    last["text"] += text
                else:
                    self.outputs.append({"output_type": "stream", "name": name, "text": text})
            return write(text)

        return record

    def _room(self, n):
        if self.captured + n > MAX_CAPTURE:
            self.truncated = True
            return False
        self.captured += n
        return True

    def _bundle(self, data):
        kept = {}
        for mime, value in (data or {}).items():
            if mime.startswith(_BINARY_MIME):
                continue
            if isinstance(value, str):
                if self._room(len(value)):
                    kept[mime] = value
            elif mime.endswith("json") and isinstance(value, (dict, list)):
                kept[mime] = value
        return kept

    def _on_publish(self, data=None, metadata=None, *args, **kwargs):
        bundle = self._bundle(data)
        if bundle:
            self.outputs.append({"output_type": "display_data", "data": bundle, "metadata": {}})

    def _on_result(self, format_dict, md_dict=None):
        bundle = self._bundle(format_dict)
        if bundle:
            self.outputs.append(
                {
                    "output_type": "execute_result",
                    "execution_count": None,
                    "data": bundle,
                    "metadata": {},
                }
            )

    def _on_traceback(self, etype, evalue, stb, *args, **kwargs):
        frames = [s for s in (stb or []) if isinstance(s, str)]
        evalue = str(evalue)
        if self._room(len(evalue) + sum(map(len, frames))):
            self.outputs.append(
                {
                    "output_type": "error",
                    "ename": getattr(etype, "__name__", str(etype)),
                    "evalue": evalue,
                    "traceback": frames,
                }
            )


class _Tee:
    """Stands in for a standard stream that cannot be patched: records writes, forwards all."""

    def __init__(self, stream, write):
        self._stream = stream
        self.write = write

    def __getattr__(self, name):
        return getattr(self._stream, name)


_ABSENT = object()

_EMPTY_NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}

_BOX = (
    "border-left: 4px solid #d9822b; background: #fff6e5; color: #3a2a00; "
    "padding: 6px 10px; margin: 4px 0; font-family: sans-serif; font-size: 13px"
)


def _display(text, markup):
    from IPython.display import display

    display({"text/plain": text, "text/html": markup}, raw=True)


def clean(s):
    """Scanned content is shown, so control characters (terminal escapes) are taken out."""
    return _CONTROL.sub("", str(s))


def where(finding, outputs):
    """Where in the cell, in words: ``source, line 2`` or ``printed output (stdout), line 1``."""
    line = finding.get("cell_line")
    at = f", line {line}" if line else ""
    if finding.get("part") != "output":
        return f"{finding.get('part') or 'cell'}{at}"
    index = finding.get("output")
    kind = finding.get("output_kind") or ""
    out = outputs[index] if isinstance(index, int) and 0 <= index < len(outputs) else {}
    what = {
        "stream": f"printed output ({out.get('name', kind)})",
        "execute_result": f"cell result ({kind})",
        "display_data": f"displayed output ({kind})",
        "error": "error message",
    }.get(out.get("output_type"), f"output ({kind})")
    return what + at


def render(findings, notes, blocked, outputs):
    """The warning as text and as HTML; only masked values, rule ids and advice."""
    secrets = any(not str(f.get("rule", "")).startswith("pii.") for f in findings)
    pii = any(str(f.get("rule", "")).startswith("pii.") for f in findings)
    what = " and ".join(w for w, yes in (("a credential", secrets), ("personal data", pii)) if yes)
    if not findings:
        head = "nbguard: this cell was not fully checked"
    elif blocked:
        head = f"nbguard: this cell shows {what}; a commit of it would be blocked"
    else:
        head = f"nbguard: this cell may show {what}"
    lines = [head]
    items = []
    for f in findings:
        rule, severity = clean(f.get("rule")), clean(f.get("severity"))
        title, place = clean(f.get("title")), clean(where(f, outputs))
        value, fix = clean(f.get("secret")), clean(f.get("fix"))
        lines += [
            f"  {severity.upper()}  {rule}  {title}",
            f"    where: {place}",
            f"    value: {value}",
        ]
        if fix:
            lines.append(f"    fix:   {fix}")
        items.append(
            f"<li><b>{html.escape(severity.upper())}</b> <code>{html.escape(rule)}</code> "
            f"{html.escape(title)}<br>where: {html.escape(place)}; value: "
            f"<code>{html.escape(value)}</code>"
            + (f"<br>fix: {html.escape(fix)}" if fix else "")
            + "</li>"
        )
    for n in notes:
        lines.append(f"  note: {clean(n)}")
        items.append(f"<li>note: {html.escape(clean(n))}</li>")
    advice = ()
    if findings:
        rule = clean(findings[0].get("rule"))
        advice = (
            (SECRET_ADVICE if secrets else ())
            + (PII_ADVICE if pii else ())
            + tuple(a.format(rule=rule) for a in ADVICE)
        )
    lines += [f"  - {a}" for a in advice]
    markup = (
        f'<div style="{_BOX}"><b>{html.escape(head)}</b><ul style="margin: 4px 0">'
        + "".join(items)
        + "</ul>"
        + ("<ul>" + "".join(f"<li>{html.escape(a)}</li>" for a in advice) + "</ul>" if advice else "")
        + "</div>"
    )
    return "\n".join(lines), markup


def notebook_path(shell):
    """The running notebook's path relative to its git work tree, for `scan.exclude` and
    allowlisted paths; front ends that do not say which notebook runs get ``notebook.ipynb``."""
    name = shell.user_ns.get("__vsc_ipynb_file__") or os.environ.get("JPY_SESSION_NAME") or ""
    if not name.lower().endswith(".ipynb"):
        return "notebook.ipynb"
    path = os.path.abspath(name)
    root = os.getcwd()
    probe = root
    while True:
        if os.path.exists(os.path.join(probe, ".git")):
            root = probe
            break
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    rel = os.path.relpath(path, root) if os.path.exists(path) else os.path.basename(name)
    return "notebook.ipynb" if rel.startswith("..") else rel.replace(os.sep, "/")
