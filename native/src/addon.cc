#include "common.h"

#include <malloc.h>

#include <climits>
#include <cstdlib>
#include <cstring>

namespace hc {

void initDistributed(Napi::Env env, Napi::Object exports);  // distributed.cc

static void finalizeBox(Napi::Env env, TensorBox* box) {
  disposeBox(box, env);
  delete box;
}

void disposeBox(TensorBox* box, Napi::Env env) {
  if (box->reportedBytes != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -box->reportedBytes);
    box->reportedBytes = 0;
  }
  box->tensor.reset();
}

// While a tidy() scope is open, new tensors are released deterministically by
// that scope, so their memory is not reported to V8: reporting hundreds of MB
// of short-lived activations every step made V8 run a full GC several times
// per training step. Tensors that leave every scope are reported then
// (reportExternal), so the GC backstop still sees what it alone will free.
static int scopeDepth = 0;

void reportToV8(TensorBox* box, Napi::Env env) {
  const auto& t = box->tensor;
  if (box->reportedBytes != 0 || !t.defined() || !t.device().is_cpu()) return;
  box->reportedBytes = static_cast<int64_t>(t.numel() * t.element_size());
  if (box->reportedBytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, box->reportedBytes);
}

Napi::Value wrap(Napi::Env env, at::Tensor tensor) {
  auto* box = new TensorBox();
  box->tensor = std::move(tensor);
  if (scopeDepth == 0) reportToV8(box, env);
  return Napi::External<TensorBox>::New(env, box, finalizeBox);
}

at::Tensor& unwrap(const Napi::Value& value, const char* what) {
  if (!value.IsExternal()) {
    throw Napi::TypeError::New(value.Env(), std::string("expected a tensor for ") + what);
  }
  auto* box = value.As<Napi::External<TensorBox>>().Data();
  if (!box->tensor.defined()) {
    throw Napi::Error::New(value.Env(), std::string("tensor used after dispose (") + what + ")");
  }
  return box->tensor;
}

c10::optional<at::Tensor> unwrapOptional(const Napi::Value& value) {
  if (value.IsNull() || value.IsUndefined()) return c10::nullopt;
  return unwrap(value);
}

std::vector<at::Tensor> unwrapList(const Napi::Value& value) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), "expected an array of tensors");
  auto array = value.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(unwrap(array.Get(i), "list element"));
  return out;
}

Napi::Value wrapList(Napi::Env env, const std::vector<at::Tensor>& tensors) {
  auto array = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); i++) array.Set(static_cast<uint32_t>(i), wrap(env, tensors[i]));
  return array;
}

std::vector<int64_t> intList(const Napi::Value& value, const char* what) {
  if (value.IsNumber()) return {value.As<Napi::Number>().Int64Value()};
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), std::string("expected an array of integers for ") + what);
  auto array = value.As<Napi::Array>();
  std::vector<int64_t> out(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value v = array.Get(i);
    if (!v.IsNumber()) throw Napi::TypeError::New(value.Env(), std::string("expected integers in ") + what);
    out[i] = v.As<Napi::Number>().Int64Value();
  }
  return out;
}

c10::optional<std::vector<int64_t>> optionalIntList(const Napi::Value& value, const char* what) {
  if (value.IsNull() || value.IsUndefined()) return c10::nullopt;
  return intList(value, what);
}

// Codes shared with src/engine/dtype.ts.
at::ScalarType scalarType(int code) {
  switch (code) {
    case 0: return at::kFloat;
    case 1: return at::kLong;
    case 2: return at::kBool;
    case 3: return at::kHalf;
    case 4: return at::kBFloat16;
    case 5: return at::kInt;
    case 6: return at::kByte;
    case 7: return at::kDouble;
  }
  throw std::runtime_error("unknown dtype code " + std::to_string(code));
}

int dtypeCode(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return 0;
    case at::kLong: return 1;
    case at::kBool: return 2;
    case at::kHalf: return 3;
    case at::kBFloat16: return 4;
    case at::kInt: return 5;
    case at::kByte: return 6;
    case at::kDouble: return 7;
    default: return -1;
  }
}

double num(const Napi::Value& value, const char* what) {
  if (!value.IsNumber()) throw Napi::TypeError::New(value.Env(), std::string("expected a number for ") + what);
  return value.As<Napi::Number>().DoubleValue();
}

int64_t int64(const Napi::Value& value, const char* what) {
  if (!value.IsNumber()) throw Napi::TypeError::New(value.Env(), std::string("expected an integer for ") + what);
  return value.As<Napi::Number>().Int64Value();
}

bool flag(const Napi::Value& value) { return value.ToBoolean().Value(); }

void registerFn(Napi::Env env, Napi::Object exports, const char* name, Fn fn) {
  exports.Set(name, Napi::Function::New(env, fn, name));
}

HC_FN(dispose) {
  HC_GUARD_BEGIN
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "expected a tensor");
  disposeBox(info[0].As<Napi::External<TensorBox>>().Data(), info.Env());
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(isDisposed) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "expected a tensor");
  return Napi::Boolean::New(info.Env(), !info[0].As<Napi::External<TensorBox>>().Data()->tensor.defined());
}

HC_FN(setScopeDepth) {
  HC_GUARD_BEGIN
  scopeDepth = static_cast<int>(int64(info[0], "scope depth"));
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(reportExternal) {
  HC_GUARD_BEGIN
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "expected a tensor");
  reportToV8(info[0].As<Napi::External<TensorBox>>().Data(), info.Env());
  return info.Env().Undefined();
  HC_GUARD_END
}

// Training allocates and frees the same large activation buffers every step.
// With glibc's defaults, blocks over the (dynamic) mmap threshold are mapped
// and unmapped each time and the heap top is trimmed, so every step page-faults
// and zero-fills its working set again: measured 160k faults (about 0.6 GB)
// per MobileNetV2 step and 30% more CPU time. Serving tensor memory from the
// heap and never trimming it keeps the working set resident; releaseMemory()
// hands freed memory back on request. HYPERCLIP_MALLOC=default keeps glibc's policy.
static void tuneAllocator() {
  const char* policy = std::getenv("HYPERCLIP_MALLOC");
  if (policy != nullptr && std::strcmp(policy, "default") == 0) return;
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

HC_FN(releaseMemory) {
  HC_GUARD_BEGIN
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
  HC_GUARD_END
}

// The C heap in bytes, over all arenas: in use by live allocations, and
// free but kept by the allocator (fragments and the reuse policy above).
HC_FN(mallocStats) {
  HC_GUARD_BEGIN
  const struct mallinfo2 info2 = mallinfo2();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("inUse", Napi::Number::New(info.Env(), static_cast<double>(info2.uordblks + info2.hblkhd)));
  out.Set("free", Napi::Number::New(info.Env(), static_cast<double>(info2.fordblks)));
  return out;
  HC_GUARD_END
}

HC_FN(setNumThreads) {
  HC_GUARD_BEGIN
  at::set_num_threads(static_cast<int>(int64(info[0], "threads")));
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(getNumThreads) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

HC_FN(cudaAvailable) { return Napi::Boolean::New(info.Env(), torch::cuda::is_available()); }

HC_FN(cudaDeviceCount) { return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count())); }

HC_FN(version) {
  return Napi::String::New(info.Env(), std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                                           std::to_string(TORCH_VERSION_PATCH));
}

HC_FN(parallelInfo) { return Napi::String::New(info.Env(), at::get_parallel_info()); }

}  // namespace hc

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  hc::tuneAllocator();
  hc::registerFn(env, exports, "releaseMemory", hc::releaseMemory);
  hc::registerFn(env, exports, "mallocStats", hc::mallocStats);
  hc::registerFn(env, exports, "dispose", hc::dispose);
  hc::registerFn(env, exports, "isDisposed", hc::isDisposed);
  hc::registerFn(env, exports, "setScopeDepth", hc::setScopeDepth);
  hc::registerFn(env, exports, "reportExternal", hc::reportExternal);
  hc::registerFn(env, exports, "setNumThreads", hc::setNumThreads);
  hc::registerFn(env, exports, "getNumThreads", hc::getNumThreads);
  hc::registerFn(env, exports, "cudaAvailable", hc::cudaAvailable);
  hc::registerFn(env, exports, "cudaDeviceCount", hc::cudaDeviceCount);
  hc::registerFn(env, exports, "version", hc::version);
  hc::registerFn(env, exports, "parallelInfo", hc::parallelInfo);
  hc::initOps(env, exports);
  hc::initAutogradOptim(env, exports);
  hc::initGradHooks(env, exports);
  hc::initChannelAffine(env, exports);
  hc::initDistributed(env, exports);
  return exports;
}

NODE_API_MODULE(hyperclip_torch, Init)
