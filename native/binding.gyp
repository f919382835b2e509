{
  "targets": [
    {
      "target_name": "hyperclip_torch",
      "sources": ["src/addon.cc", "src/ops.cc", "src/autograd_optim.cc", "src/grad_hooks.cc", "src/distributed.cc", "src/channel_affine.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node libtorch.cjs include)"],
      "libraries": ["<!@(node libtorch.cjs libs)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "<!@(node libtorch.cjs defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wno-unused-parameter", "-Wno-deprecated-declarations"]
    }
  ]
}
