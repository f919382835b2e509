#!/usr/bin/env bash
# Sets up hyperclip on Debian: system packages, npm packages, the libtorch
# addon and the TypeScript build. Re-running it only redoes what is missing
# or out of date.
#   LIBTORCH=/path/to/libtorch   build the addon against another libtorch (e.g. CUDA)
#   HYPERCLIP_SKIP_APT=1          do not touch system packages
set -euo pipefail
cd "$(dirname "$0")/.."

# libtorch + a fast BLAS + a compiler are needed to train; python3-torch is the
# reference for benchmarks, python3-onnx checks exported models in tests,
# chromium runs the browser app's end-to-end test.
# libgloo-dev: the Gloo headers that c10d's ProcessGroupGloo.hpp includes (native/src/distributed.cc).
packages=(libtorch-dev libgloo-dev libopenblas0-pthread g++ make python3 python3-torch python3-onnx chromium)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ] && [ -z "${HYPERCLIP_SKIP_APT:-}" ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# onnxruntime-node's install step fetches CUDA files from outside; its bundled CPU library is all we use.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  # npm install, not npm ci: npm 11 leaves other platforms' optional packages
  # (rollup's) out of the lock file and then refuses `npm ci` on it.
  npm install --no-fund --no-audit
fi

addon=native/build/Release/hyperclip_torch.node
stale=0
[ -f "$addon" ] || stale=1
if [ "$stale" -eq 0 ]; then
  for src in native/binding.gyp native/libtorch.cjs native/src/*; do
    [ "$src" -nt "$addon" ] && stale=1
  done
fi
if [ "$stale" -eq 1 ]; then
  echo "setup: building the libtorch addon (about a minute)"
  nodedir=()
  [ -f /usr/include/node/node_api.h ] && nodedir=(--nodedir=/usr)
  (cd native && ../node_modules/.bin/node-gyp rebuild "${nodedir[@]}" -j "$(nproc)" > build.log 2>&1) || {
    tail -30 native/build.log >&2
    echo "setup: the addon failed to build (full log: native/build.log)" >&2
    exit 1
  }
fi

echo "setup: compiling TypeScript"
npx --no-install tsc -p .

# The default model's image encoder is a pretrained network of the data folder
# (config.json names it): its weights are never committed, so its ONNX export
# is made here, from ../shared/data/pretrained, whenever it is missing or older
# than the model's own weights.
encoder=models/default/encoder.onnx
if [ ! -f "$encoder" ] || [ models/default/model.safetensors -nt "$encoder" ] || [ models/default/config.json -nt "$encoder" ]; then
  echo "setup: exporting the default model's ONNX files (its image encoder comes from the data folder)"
  node dist/src/cli/main.js export-onnx --model models/default > /dev/null
fi
echo "setup: done (libtorch addon: $addon)"
