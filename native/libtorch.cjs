// Prints the compiler and linker flags for libtorch, for binding.gyp.
// Debian's libtorch-dev (CPU) is the default; LIBTORCH=/path/to/libtorch selects
// an unpacked libtorch distribution instead (for example a CUDA build).
const fs = require('node:fs');
const path = require('node:path');

const what = process.argv[2];
const root = process.env.LIBTORCH;

function debian() {
  const include = ['/usr/include', '/usr/include/torch/csrc/api/include'];
  if (!fs.existsSync('/usr/include/torch/csrc/api/include/torch/torch.h')) {
    console.error('libtorch headers not found: run `bash scripts/setup.sh` (installs libtorch-dev), or set LIBTORCH=/path/to/libtorch');
    process.exit(1);
  }
  return { include, libdir: null, libs: ['-ltorch', '-ltorch_cpu', '-lc10'], defines: [] };
}

function custom(dir) {
  const include = [path.join(dir, 'include'), path.join(dir, 'include/torch/csrc/api/include')];
  const libdir = path.join(dir, 'lib');
  if (!fs.existsSync(libdir)) {
    console.error(`LIBTORCH=${dir} has no lib/ folder: point it at an unpacked libtorch distribution`);
    process.exit(1);
  }
  const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
  for (const name of ['torch_cuda', 'c10_cuda']) {
    if (fs.existsSync(path.join(libdir, `lib${name}.so`))) libs.push(`-l${name}`);
  }
  // A CUDA build carries c10d's NCCL backend (distributed.cc compiles it in then).
  const defines = libs.includes('-ltorch_cuda') ? ['USE_C10D_NCCL', 'HC_WITH_NCCL'] : [];
  return { include, libdir, libs, defines };
}

const cfg = root ? custom(root) : debian();
if (what === 'include') console.log(cfg.include.join(' '));
else if (what === 'libs') {
  const flags = cfg.libdir ? [`-L${cfg.libdir}`, `-Wl,-rpath,${cfg.libdir}`, '-Wl,--no-as-needed'] : ['-Wl,--no-as-needed'];
  console.log([...flags, ...cfg.libs].join(' '));
} else if (what === 'defines') {
  console.log(cfg.defines.join(' '));
} else {
  console.error('usage: node libtorch.cjs include|libs|defines');
  process.exit(1);
}
