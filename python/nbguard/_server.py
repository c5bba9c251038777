"""The client side of ``nbguard serve``: one long-lived checker process per kernel, so that a cell
costs a pipe round trip instead of a process start and a rule catalogue load.

One JSON object per line each way (the protocol is described in src/commands/serve.rs). The
process starts on first use in the kernel's working directory, so it reads the same
``.nbguard.toml`` as ``nbguard scan`` run there; it is restarted after it dies or stops answering.
"""

import json
import os
import queue
import subprocess
import threading

from ._binary import find_nbguard_bin

#: How long one cell's check may take before the cell is reported as not checked.
TIMEOUT_SECONDS = 30.0


class Unavailable(Exception):
    """The checker could not answer; the message says why, for the user."""


class Server:
    def __init__(self, cwd=None):
        self._cwd = cwd or os.getcwd()
        self._proc = None
        self._replies = None
        self._stderr = []
        self._stderr_pump = None
        self._next_id = 0

    def check(self, path, notebook):
        """The reply for one notebook: ``{"findings": [...], "diagnostics": [...], "blocked": bool}``."""
        if self._proc is None or self._proc.poll() is not None:
            self.start()
        self._next_id += 1
        request = {"id": self._next_id, "path": path, "notebook": notebook}
        line = json.dumps(request, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        try:
            self._proc.stdin.write(line.encode("utf-8", "replace"))
            self._proc.stdin.flush()
        except OSError:
            raise Unavailable(self._died()) from None
        while True:
            try:
                raw = self._replies.get(timeout=TIMEOUT_SECONDS)
            except queue.Empty:
                self.close()
                raise Unavailable(
                    f"nbguard did not answer within {TIMEOUT_SECONDS:.0f} s; it will be restarted"
                ) from None
            if raw is None:
                raise Unavailable(self._died())
            reply = json.loads(raw)
            # A reply to a request that timed out earlier is stale: skip it.
            if reply.get("id") != self._next_id:
                continue
            if "error" in reply:
                raise Unavailable("nbguard could not read the request: " + reply["error"])
            return reply

    def close(self):
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def start(self):
        """Starts (or restarts) the checker process."""
        self.close()
        try:
            exe = find_nbguard_bin()
            proc = subprocess.Popen(
                [exe, "serve"],
                cwd=self._cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as e:
            raise Unavailable(f"cannot start nbguard: {e}") from None
        self._proc = proc
        self._replies = queue.Queue()
        self._stderr = []
        threading.Thread(target=_pump, args=(proc.stdout, self._replies.put), daemon=True).start()
        keep = self._stderr
        self._stderr_pump = threading.Thread(
            target=_pump, args=(proc.stderr, lambda b: b is not None and keep.append(b)), daemon=True
        )
        self._stderr_pump.start()

    def _died(self):
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            # What it said before it ended is the reason to show.
            self._stderr_pump.join(timeout=2)
        self._proc = None
        why = b"".join(self._stderr[-20:]).decode("utf-8", "replace").strip()
        return f"nbguard stopped (exit code {code})" + (f": {why}" if why else "")


def _pump(stream, put):
    for line in stream:
        put(line)
    put(None)
