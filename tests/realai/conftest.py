"""A real llama.cpp `llama-server` serving Gemma 3 270M, for the tests marked `realai`.

The binary and the model are built once per machine into a cache outside the checkout
(`INKLINE_LLAMA_CACHE`, default ~/.cache/inkline/llama) by `build_llama_server.sh`, which
`.ci/run` calls before `make test`; when they are missing here the fixture runs the script
itself (about 8-20 minutes on 2 cores). A build that cannot run skips the tests with the
reason, except under CI=true, where it fails them.

One server per test session: it starts on a free 127.0.0.1 port with a small context, one
slot, one thread, greedy sampling and a Gemma chat template (the model is a base model whose
GGUF has none); it is stopped (its process group: SIGTERM, then SIGKILL) when the session
ends. The tests of this folder live in one file, so under
`--dist loadfile` a single xdist worker starts it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI") == "true"
HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build_llama_server.sh"
CHAT_TEMPLATE = HERE / "gemma3_chat_template.jinja"
CACHE = Path(os.environ.get("INKLINE_LLAMA_CACHE") or Path.home() / ".cache/inkline/llama")
BINARY = CACHE / "bin" / "llama-server"
MODEL = CACHE / "gemma-3-270m-q4_k_m.gguf"

# The name the server answers with (`--alias`): what provenance must record.
SERVED_MODEL = "gemma-3-270m-q4_k_m"
# Room for our prompts, an answer and a re-ask; one slot, so the context is not split.
CONTEXT_TOKENS = 2048
# Tokens generated for a request that sets no max_tokens (only a default: a client's larger
# max_tokens wins): a weak model looping to the context's end would take minutes per call.
DEFAULT_MAX_OUTPUT = 256
# One thread: on 2 cores busy with the rest of the suite, 2 threads wait on each other
# (measured under load: 1.3 tokens/s with 2 threads, 14 with 1).
THREADS = "1"
BUILD_TIMEOUT = 60 * 60
START_TIMEOUT = 120.0


@dataclass(frozen=True)
class LlamaServer:
    base_url: str  # the OpenAI-compatible root, ending in /v1
    model: str  # the model name it answers with
    log: Path
    pid: int


def _unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"the real llama.cpp server is required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def ensure_built() -> None:
    """The binary and the model in the cache; built by the script when missing."""
    if BINARY.is_file() and MODEL.is_file():
        return
    missing = [tool for tool in ("bash", "cmake", "c++", "flock") if shutil.which(tool) is None]
    if missing:
        _unavailable(f"{BINARY} is missing and cannot be built without {', '.join(missing)}")
    try:
        built = subprocess.run(
            ["bash", str(BUILD_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _unavailable(f"{BUILD_SCRIPT.name} took longer than {BUILD_TIMEOUT} s")
    if built.returncode != 0 or not (BINARY.is_file() and MODEL.is_file()):
        tail = "\n".join((built.stderr or built.stdout).strip().splitlines()[-15:])
        _unavailable(f"{BUILD_SCRIPT.name} failed (exit {built.returncode}):\n{tail}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_command(port: int) -> list[str]:
    return [
        str(BINARY),
        "--model", str(MODEL),
        "--alias", SERVED_MODEL,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chat-template-file", str(CHAT_TEMPLATE),
        "--ctx-size", str(CONTEXT_TOKENS),
        "--parallel", "1",
        "--n-predict", str(DEFAULT_MAX_OUTPUT),
        "--temp", "0",  # greedy unless a request says otherwise: the same path each run
        "--threads", THREADS,
        "--threads-batch", THREADS,
        "--no-webui",
    ]  # fmt: skip


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False  # not listening yet, or 503 while the model loads


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL if it is still there after 10 s."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start(log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A started, healthy server and its port; a port taken meanwhile gets another try."""
    for _ in range(3):
        port = free_port()
        with log.open("ab") as out:
            process = subprocess.Popen(
                server_command(port),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        deadline = time.monotonic() + START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if _healthy(port):
                return process, port
            time.sleep(0.2)
        stop(process)
        if "bind" not in tail(log).lower():
            break
    _unavailable(f"llama-server did not become healthy; its log ends:\n{tail(log)}")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    ensure_built()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    process, port = start(log)
    try:
        yield LlamaServer(
            base_url=f"http://127.0.0.1:{port}/v1", model=SERVED_MODEL, log=log, pid=process.pid
        )
    finally:
        stop(process)
