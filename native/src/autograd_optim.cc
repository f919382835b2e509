// Autograd, in-place updates, optimiser steps and random state. Optimiser
// steps are generic kernels over lists of tensors; their state (moments,
// step counts, schedules) lives in TypeScript.
#include "common.h"

#include <cmath>
#include <cstring>

namespace hc {

HC_FN(setRequiresGrad) {
  HC_GUARD_BEGIN
  unwrap(info[0]).requires_grad_(flag(info[1]));
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(requiresGrad) {
  HC_GUARD_BEGIN
  return Napi::Boolean::New(info.Env(), unwrap(info[0]).requires_grad());
  HC_GUARD_END
}

HC_FN(backward) {
  HC_GUARD_BEGIN
  auto& loss = unwrap(info[0], "loss");
  auto grad = unwrapOptional(info[1]);
  if (!grad && loss.numel() != 1) {
    throw Napi::Error::New(info.Env(), "backward() without a gradient needs a scalar loss, got " + std::to_string(loss.numel()) +
                                           " elements");
  }
  loss.backward(grad ? *grad : at::Tensor(), flag(info[2]));
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(grad) {
  HC_GUARD_BEGIN
  const auto& g = unwrap(info[0]).grad();
  if (!g.defined()) return info.Env().Null();
  return wrap(info.Env(), g);
  HC_GUARD_END
}

HC_FN(setGrad) {
  HC_GUARD_BEGIN
  auto& t = unwrap(info[0]);
  auto g = unwrapOptional(info[1]);
  if (g) t.mutable_grad() = *g;
  else t.mutable_grad().reset();
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(zeroGrad) {
  HC_GUARD_BEGIN
  for (auto& t : unwrapList(info[0])) t.mutable_grad().reset();
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(detach) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), unwrap(info[0]).detach());
  HC_GUARD_END
}

HC_FN(setGradEnabled) {
  bool previous = at::GradMode::is_enabled();
  at::GradMode::set_enabled(flag(info[0]));
  return Napi::Boolean::New(info.Env(), previous);
}

HC_FN(isGradEnabled) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); }

// ---- in-place updates (never recorded by autograd) ----

HC_FN(copyInto) {
  HC_GUARD_BEGIN
  at::NoGradGuard guard;
  auto& dst = unwrap(info[0], "destination");
  auto& src = unwrap(info[1], "source");
  if (!dst.sizes().equals(src.sizes())) {
    throw Napi::Error::New(info.Env(), "copy: shape " + c10::str(src.sizes()) + " does not match " + c10::str(dst.sizes()));
  }
  dst.copy_(src);
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(fillInPlace) {
  HC_GUARD_BEGIN
  at::NoGradGuard guard;
  unwrap(info[0]).fill_(num(info[1], "value"));
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(mulInPlace) {
  HC_GUARD_BEGIN
  at::NoGradGuard guard;
  unwrap(info[0]).mul_(num(info[1], "factor"));
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(addInPlace) {
  HC_GUARD_BEGIN
  at::NoGradGuard guard;
  unwrap(info[0]).add_(unwrap(info[1], "addend"), num(info[2], "alpha"));
  return info.Env().Undefined();
  HC_GUARD_END
}

// ---- optimisers ----

// AdamW (decoupled weight decay) over one parameter group, as torch.optim.AdamW.
// Arguments: params, exp_avg, exp_avg_sq, {lr, beta1, beta2, eps, weightDecay, step}.
HC_FN(adamwStep) {
  HC_GUARD_BEGIN
  at::NoGradGuard guard;
  auto params = unwrapList(info[0]);
  auto expAvg = unwrapList(info[1]);
  auto expAvgSq = unwrapList(info[2]);
  auto o = info[3].As<Napi::Object>();
  double lr = num(o.Get("lr"), "lr"), beta1 = num(o.Get("beta1"), "beta1"), beta2 = num(o.Get("beta2"), "beta2");
  double eps = num(o.Get("eps"), "eps"), wd = num(o.Get("weightDecay"), "weightDecay");
  double step = num(o.Get("step"), "step");
  if (params.size() != expAvg.size() || params.size() != expAvgSq.size()) {
    throw Napi::Error::New(info.Env(), "adamwStep: parameter and state lists differ in length");
  }
  double bc1 = 1.0 - std::pow(beta1, step);
  double bc2Sqrt = std::sqrt(1.0 - std::pow(beta2, step));
  for (size_t i = 0; i < params.size(); i++) {
    auto& p = params[i];
    const auto& g = p.grad();
    if (!g.defined()) continue;
    if (wd != 0) p.mul_(1.0 - lr * wd);
    expAvg[i].lerp_(g, 1.0 - beta1);
    expAvgSq[i].mul_(beta2).addcmul_(g, g, 1.0 - beta2);
    auto denom = (expAvgSq[i].sqrt() / bc2Sqrt).add_(eps);
    p.addcdiv_(expAvg[i], denom, -lr / bc1);
  }
  return info.Env().Undefined();
  HC_GUARD_END
}

// SGD with momentum (and optional Nesterov), as torch.optim.SGD.
// Arguments: params, momentum buffers, {lr, momentum, weightDecay, nesterov, first}.
HC_FN(sgdStep) {
  HC_GUARD_BEGIN
  at::NoGradGuard guard;
  auto params = unwrapList(info[0]);
  auto buffers = unwrapList(info[1]);
  auto o = info[2].As<Napi::Object>();
  double lr = num(o.Get("lr"), "lr"), momentum = num(o.Get("momentum"), "momentum"), wd = num(o.Get("weightDecay"), "weightDecay");
  bool nesterov = flag(o.Get("nesterov")), first = flag(o.Get("first"));
  for (size_t i = 0; i < params.size(); i++) {
    auto& p = params[i];
    if (!p.grad().defined()) continue;
    auto g = wd != 0 ? p.grad().add(p, wd) : p.grad();
    if (momentum != 0) {
      if (first) buffers[i].copy_(g);
      else buffers[i].mul_(momentum).add_(g);
      g = nesterov ? g.add(buffers[i], momentum) : buffers[i];
    }
    p.add_(g, -lr);
  }
  return info.Env().Undefined();
  HC_GUARD_END
}

// Scales all gradients so that their joint 2-norm is at most maxNorm; returns the norm before clipping.
HC_FN(clipGradNorm) {
  HC_GUARD_BEGIN
  at::NoGradGuard guard;
  auto params = unwrapList(info[0]);
  double maxNorm = num(info[1], "max norm");
  std::vector<at::Tensor> norms;
  for (auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  if (norms.empty()) return Napi::Number::New(info.Env(), 0);
  double total = at::stack(norms).norm(2).item<double>();
  double coef = maxNorm / (total + 1e-6);
  if (coef < 1.0)
    for (auto& p : params)
      if (p.grad().defined()) p.mutable_grad().mul_(coef);
  return Napi::Number::New(info.Env(), total);
  HC_GUARD_END
}

// ---- random state ----

HC_FN(manualSeed) {
  HC_GUARD_BEGIN
  torch::manual_seed(static_cast<uint64_t>(int64(info[0], "seed")));
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(getRngState) {
  HC_GUARD_BEGIN
  auto gen = at::detail::getDefaultCPUGenerator();
  at::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  auto buffer = Napi::ArrayBuffer::New(info.Env(), static_cast<size_t>(state.numel()));
  std::memcpy(buffer.Data(), state.data_ptr(), static_cast<size_t>(state.numel()));
  return buffer;
  HC_GUARD_END
}

HC_FN(setRngState) {
  HC_GUARD_BEGIN
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "expected a Uint8Array random state");
  auto array = info[0].As<Napi::TypedArray>();
  auto state = at::empty({static_cast<int64_t>(array.ByteLength())}, at::kByte);
  std::memcpy(state.data_ptr(), static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset(), array.ByteLength());
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
  return info.Env().Undefined();
  HC_GUARD_END
}

void initAutogradOptim(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Fn> table[] = {
      {"setRequiresGrad", setRequiresGrad}, {"requiresGrad", requiresGrad}, {"backward", backward}, {"grad", grad},
      {"setGrad", setGrad}, {"zeroGrad", zeroGrad}, {"detach", detach}, {"setGradEnabled", setGradEnabled},
      {"isGradEnabled", isGradEnabled}, {"copyInto", copyInto}, {"fillInPlace", fillInPlace}, {"mulInPlace", mulInPlace},
      {"addInPlace", addInPlace}, {"adamwStep", adamwStep}, {"sgdStep", sgdStep}, {"clipGradNorm", clipGradNorm},
      {"manualSeed", manualSeed}, {"getRngState", getRngState}, {"setRngState", setRngState},
  };
  for (const auto& [name, fn] : table) registerFn(env, exports, name, fn);
}

}  // namespace hc
