"""Dify's code sandbox contract for a test run: ``def main(...) -> dict`` run in a subprocess.

Python 3 runs in a fresh interpreter (``-I``), JavaScript in ``node`` when the machine has it. Each
call has a wall-time limit, an address-space limit, a cap on what it may write, and cannot fork
(``os.fork``/``subprocess`` raise; the process group is killed afterwards, so nothing outlives it).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RESULT_MARK = "<<difyforge-result>>"

_PY_RUNNER = r"""
import io, json, os, resource, sys
MARK = %(mark)r
_mem, _out = int(sys.argv[1]), int(sys.argv[2])
# The result goes to a private copy of stdout; whatever the code writes to fd 1 or 2 is discarded.
_result_fd = os.dup(1)
_null = os.open(os.devnull, os.O_WRONLY)
os.dup2(_null, 1)
os.dup2(_null, 2)
resource.setrlimit(resource.RLIMIT_AS, (_mem, _mem))
resource.setrlimit(resource.RLIMIT_FSIZE, (_out, _out))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
def _deny(*a, **k):
    raise PermissionError("process creation is not allowed in the code sandbox")
for _name in ("fork", "forkpty", "execv", "execve", "execvp", "execvpe", "spawnv", "spawnve", "system", "popen", "posix_spawn", "posix_spawnp"):
    if hasattr(os, _name):
        setattr(os, _name, _deny)
import subprocess
subprocess.Popen = _deny
class _Capped(io.TextIOBase):
    def __init__(self): self.n = 0
    def write(self, s):
        self.n += len(s)
        return len(s)
sys.stdout = _Capped()
sys.stderr = _Capped()
payload = json.loads(sys.stdin.read())
scope = {"__name__": "__main__"}
try:
    exec(compile(payload["code"], "<code node>", "exec"), scope)
    if not callable(scope.get("main")):
        raise NameError("the code defines no main() function")
    result = scope["main"](**payload["inputs"])
    out = {"ok": True, "result": result}
except BaseException as exc:
    import traceback
    tb = traceback.extract_tb(exc.__traceback__)
    line = next((f.lineno for f in reversed(tb) if f.filename == "<code node>"), None)
    message = str(exc).strip()
    out = {"ok": False, "error": type(exc).__name__ + (f": {message}" if message else ""), "line": line}
try:
    text = json.dumps(out, ensure_ascii=False, default=str)
except (TypeError, ValueError) as exc:
    text = json.dumps({"ok": False, "error": f"main() returned something that is not JSON: {exc}"})
data = (MARK + text).encode("utf-8")
while data:
    data = data[os.write(_result_fd, data):]
""".replace("%(mark)r", repr(RESULT_MARK))

_JS_RUNNER = r"""
const MARK = %(mark)s;
let data = "";
process.stdin.on("data", c => data += c);
process.stdin.on("end", () => {
  const payload = JSON.parse(data);
  console.log = () => {};
  let out;
  try {
    const fn = new Function(payload.code + "\n;return typeof main === 'function' ? main : undefined;")();
    if (typeof fn !== "function") throw new Error("the code defines no main() function");
    out = {ok: true, result: fn(payload.inputs)};
  } catch (e) {
    out = {ok: false, error: String(e && e.stack ? e.stack.split("\n")[0] : e)};
  }
  process.stdout.write(MARK + JSON.stringify(out));
});
""".replace("%(mark)s", json.dumps(RESULT_MARK))


class CodeExecutionError(Exception):
    """The code node's code failed: raised, timed out, ran out of memory, or is not runnable here."""


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one code execution.

    Attributes:
        timeout_s: wall time.
        memory_mb: address space of the child process.
        output_bytes: the most the child may write to its result file.
    """

    timeout_s: float = 5.0
    memory_mb: int = 512
    output_bytes: int = 4 * 1024 * 1024


class SubprocessSandbox:
    """``graphon.nodes.code.code_node.WorkflowCodeExecutor`` backed by short-lived subprocesses."""

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()

    def is_execution_error(self, error: Exception) -> bool:
        return isinstance(error, CodeExecutionError)

    def execute(self, *, language: Any, code: str, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        lang = str(getattr(language, "value", language)).lower()
        payload: dict[str, Any] = {"code": code, "inputs": dict(inputs)}
        if lang in ("python3", "python"):
            argv = [sys.executable, "-I", "-c", _PY_RUNNER,
                    str(self.limits.memory_mb * 1024 * 1024), str(self.limits.output_bytes)]
        elif lang in ("javascript", "nodejs", "js"):
            node = shutil.which("node")
            if node is None:
                raise CodeExecutionError("JavaScript code cannot run here: `node` is not installed on this machine.")
            argv = [node, f"--max-old-space-size={min(self.limits.memory_mb, 256)}", "-e", _JS_RUNNER]
        else:
            raise CodeExecutionError(f"Code language {lang!r} is not supported (python3 or javascript).")
        return self._run(argv, payload, javascript=lang not in ("python3", "python"))

    def _run(self, argv: list[str], payload: dict, *, javascript: bool) -> Mapping[str, Any]:
        try:
            stdin = json.dumps(payload, ensure_ascii=False, default=str)
        except (TypeError, ValueError) as exc:
            raise CodeExecutionError(f"The code node's inputs cannot be passed to the sandbox: {exc}") from exc
        limits = self.limits
        with tempfile.TemporaryFile() as out:
            try:
                proc = subprocess.Popen(  # noqa: S603 - argv is ours; the user's code is data on stdin
                    argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
                )
            except OSError as exc:
                raise CodeExecutionError(f"The code sandbox could not start: {exc}") from exc
            if javascript:
                try:
                    resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
                except (ProcessLookupError, PermissionError, ValueError):
                    pass
            try:
                proc.communicate(stdin.encode("utf-8"), timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                _kill(proc)
                raise CodeExecutionError(
                    f"The code ran longer than the sandbox's {limits.timeout_s:g} s limit and was stopped."
                ) from None
            finally:
                _kill(proc)
            size = out.tell()
            out.seek(0)
            raw = out.read(limits.output_bytes + 1).decode("utf-8", "replace")
        if proc.returncode and RESULT_MARK not in raw:
            if size >= limits.output_bytes or proc.returncode in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
                raise CodeExecutionError(f"The code's result is larger than the sandbox's "
                                         f"{limits.output_bytes // (1024 * 1024)} MB limit.")
            raise CodeExecutionError(
                f"The code sandbox process died (exit {proc.returncode}); it probably ran out of its "
                f"{limits.memory_mb} MB memory limit."
            )
        if RESULT_MARK not in raw:
            raise CodeExecutionError("The code produced no result.")
        try:
            result = json.loads(raw.rsplit(RESULT_MARK, 1)[1])
        except ValueError as exc:
            raise CodeExecutionError(f"The code's result could not be read: {exc}") from exc
        if not result.get("ok"):
            where = f" (line {result['line']})" if result.get("line") else ""
            raise CodeExecutionError(f"{result.get('error')}{where}")
        value = result.get("result")
        if not isinstance(value, dict):
            raise CodeExecutionError(f"main() must return a dict, it returned {type(value).__name__}.")
        return value


def _kill(proc: subprocess.Popen) -> None:
    """Kill the child's whole process group (anything it started dies with it) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass
