"""Dify's code sandbox contract for a test run: ``def main(...) -> dict`` run in a subprocess.

Python 3 runs in a child forked from one warm interpreter (``-I``), JavaScript in ``node`` when the
machine has it. Each
call has a wall-time limit, an address-space limit, a cap on what it may write, and cannot fork
(``os.fork``/``subprocess`` raise; the process group is killed afterwards, so nothing outlives it).
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RESULT_MARK = "<<difyforge-result>>"

_PY_ZYGOTE = r"""
import io, json, os, resource, signal, subprocess, sys, tempfile, time, traceback
MARK = %(mark)r


def _deny(*a, **k):
    raise PermissionError("process creation is not allowed in the code sandbox")


class _Discard(io.TextIOBase):
    def write(self, s):
        return len(s)


def _child(req, fd):
    resource.setrlimit(resource.RLIMIT_AS, (req["mem"], req["mem"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (req["out"], req["out"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name in ("fork", "forkpty", "execv", "execve", "execvp", "execvpe", "spawnv", "spawnve", "system",
                 "popen", "posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            setattr(os, name, _deny)
    subprocess.Popen = _deny
    sys.stdout = _Discard()
    sys.stderr = _Discard()
    scope = {"__name__": "__main__"}
    try:
        exec(compile(req["code"], "<code node>", "exec"), scope)
        if not callable(scope.get("main")):
            raise NameError("the code defines no main() function")
        out = {"ok": True, "result": scope["main"](**req["inputs"])}
    except BaseException as exc:
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
        data = data[os.write(fd, data):]


def _serve():
    commands, replies = sys.stdin.buffer, sys.stdout.buffer
    for line in commands:
        req = json.loads(line)
        fd, path = tempfile.mkstemp(prefix="difyforge-sandbox-")
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                null = os.open(os.devnull, os.O_RDWR)
                for target in (0, 1, 2):
                    os.dup2(null, target)
                _child(req, fd)
            finally:
                os._exit(0)
        os.close(fd)
        deadline, status, code = time.monotonic() + req["timeout"], "ok", 0
        pause = 0.0005
        while True:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(wait_status)
                break
            if time.monotonic() > deadline:
                status = "timeout"
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.01)
        try:
            os.killpg(pid, signal.SIGKILL)  # the child's whole group: nothing it started survives
        except OSError:
            pass
        if status == "timeout":
            os.waitpid(pid, 0)
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            raw = fh.read(req["out"] + 1).decode("utf-8", "replace")
        os.unlink(path)
        replies.write(json.dumps({"status": status, "exit": code, "size": size, "raw": raw}).encode() + b"\n")
        replies.flush()


_serve()
""".replace("%(mark)r", repr(RESULT_MARK))


class _Zygote:
    """One warm Python process that forks a fresh child for each code execution.

    Starting an interpreter per code node costs 50-300 ms; forking a warm one costs a few. The child
    gets its limits after the fork, runs in its own session and is killed with its group afterwards.
    The zygote exits when our end of its stdin closes (so it never outlives the process).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None

    def _ensure(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(  # noqa: S603 - our own fixed program
                [sys.executable, "-I", "-c", _PY_ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
            )
        return self._proc

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=2)

    def run(self, request: dict, wait_s: float) -> dict:
        line = json.dumps(request, ensure_ascii=False, default=str).encode("utf-8") + b"\n"
        with self._lock:
            for attempt in (1, 2):
                try:
                    proc = self._ensure()
                    assert proc.stdin is not None and proc.stdout is not None
                    proc.stdin.write(line)
                    proc.stdin.flush()
                    ready, _, _ = select.select([proc.stdout], [], [], wait_s)
                    reply = proc.stdout.readline() if ready else b""
                    if reply:
                        return json.loads(reply)
                except (OSError, ValueError) as exc:
                    cause = f" ({type(exc).__name__}: {exc})"
                else:
                    cause = ""
                self.stop()
                if attempt == 2:
                    raise CodeExecutionError(f"The code sandbox stopped responding{cause}; try the test run again.")
        raise AssertionError("unreachable")


_ZYGOTE = _Zygote()
atexit.register(_ZYGOTE.stop)


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
            return self._python(payload)
        if lang in ("javascript", "nodejs", "js"):
            node = shutil.which("node")
            if node is None:
                raise CodeExecutionError("JavaScript code cannot run here: `node` is not installed on this machine.")
            argv = [node, f"--max-old-space-size={min(self.limits.memory_mb, 256)}", "-e", _JS_RUNNER]
        else:
            raise CodeExecutionError(f"Code language {lang!r} is not supported (python3 or javascript).")
        return self._run(argv, payload, javascript=lang not in ("python3", "python"))

    def _python(self, payload: dict) -> Mapping[str, Any]:
        limits = self.limits
        request = {**payload, "mem": limits.memory_mb * 1024 * 1024, "out": limits.output_bytes,
                   "timeout": limits.timeout_s}
        try:
            reply = _ZYGOTE.run(request, limits.timeout_s + 5)
        except (TypeError, ValueError) as exc:
            raise CodeExecutionError(f"The code node's inputs cannot be passed to the sandbox: {exc}") from exc
        if reply["status"] == "timeout":
            raise CodeExecutionError(
                f"The code ran longer than the sandbox's {limits.timeout_s:g} s limit and was stopped.")
        return self._result(reply["raw"], reply["exit"], reply["size"])

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
        return self._result(raw, proc.returncode, size)

    def _result(self, raw: str, returncode: int, size: int) -> Mapping[str, Any]:
        limits = self.limits
        if returncode and RESULT_MARK not in raw:
            if size >= limits.output_bytes or returncode in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
                raise CodeExecutionError(f"The code's result is larger than the sandbox's "
                                         f"{limits.output_bytes // (1024 * 1024)} MB limit.")
            raise CodeExecutionError(
                f"The code sandbox process died (exit {returncode}); it probably ran out of its "
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
