// Shared helpers of the binding: the tensor handle, argument conversion and
// error translation. The binding is generic: it knows tensors, never models.
#pragma once
#include <napi.h>
#include <torch/torch.h>
#include <c10/util/Optional.h>
#include <string>
#include <vector>

namespace hc {

// A JavaScript handle owns one at::Tensor reference. Disposing resets it;
// the finalizer (GC backstop) frees the box itself.
struct TensorBox {
  at::Tensor tensor;
  int64_t reportedBytes = 0;
};

Napi::Value wrap(Napi::Env env, at::Tensor tensor);
at::Tensor& unwrap(const Napi::Value& value, const char* what = "tensor");
c10::optional<at::Tensor> unwrapOptional(const Napi::Value& value);
std::vector<at::Tensor> unwrapList(const Napi::Value& value);
Napi::Value wrapList(Napi::Env env, const std::vector<at::Tensor>& tensors);
void disposeBox(TensorBox* box, Napi::Env env);
void reportToV8(TensorBox* box, Napi::Env env);

std::vector<int64_t> intList(const Napi::Value& value, const char* what);
c10::optional<std::vector<int64_t>> optionalIntList(const Napi::Value& value, const char* what);
at::ScalarType scalarType(int code);
int dtypeCode(at::ScalarType type);
double num(const Napi::Value& value, const char* what);
int64_t int64(const Napi::Value& value, const char* what);
bool flag(const Napi::Value& value);

using Fn = Napi::Value (*)(const Napi::CallbackInfo&);
void registerFn(Napi::Env env, Napi::Object exports, const char* name, Fn fn);

void initOps(Napi::Env env, Napi::Object exports);
void initAutogradOptim(Napi::Env env, Napi::Object exports);
void initGradHooks(Napi::Env env, Napi::Object exports);
void initChannelAffine(Napi::Env env, Napi::Object exports);

}  // namespace hc

// Every exported function body runs inside this guard so libtorch errors
// become JavaScript exceptions with libtorch's message, never an abort.
#define HC_GUARD_BEGIN try {
#define HC_GUARD_END                                                              \
  }                                                                               \
  catch (const Napi::Error&) {                                                    \
    throw;                                                                        \
  }                                                                               \
  catch (const c10::Error& e) {                                                   \
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());              \
  }                                                                               \
  catch (const std::exception& e) {                                               \
    throw Napi::Error::New(info.Env(), e.what());                                 \
  }

#define HC_FN(name) static Napi::Value name(const Napi::CallbackInfo& info)
