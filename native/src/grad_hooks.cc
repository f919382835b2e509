// Gradient-ready hooks: a JavaScript function called during backward each
// time autograd has accumulated a leaf tensor's gradient (a post hook on the
// leaf's AccumulateGrad node, as c10d's DDP Reducer registers in libtorch
// 1.13, which has no post-accumulate-grad hook yet). Generic: the binding
// knows a tensor and a function, never what the function does.
//
// Threads: on the CPU, libtorch runs backward on the thread that called it
// (Engine::execute runs the CPU ready queue inline), which is the JavaScript
// thread here, so the hook calls JavaScript directly. Backward on a CUDA
// device runs AccumulateGrad on a device thread, where JavaScript cannot be
// called: the hook then fails backward with an error instead.
#include "common.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <memory>
#include <thread>

namespace hc {

// What the post hook calls. The function reference is created and released
// on the JavaScript thread only (registration, removal, the handle's
// finalizer), whatever thread later drops the autograd node.
struct HookTarget {
  Napi::Env env;
  Napi::FunctionReference fn;
  std::thread::id thread;
  explicit HookTarget(Napi::Env e) : env(e), thread(std::this_thread::get_id()) {}
};

// Hooks running now (JavaScript thread only). A hook removed from inside a
// hook is only disabled: the engine is iterating the node's hook list.
static int runningHooks = 0;

class JsGradReadyHook : public torch::autograd::FunctionPostHook {
 public:
  explicit JsGradReadyHook(std::shared_ptr<HookTarget> target) : target_(std::move(target)) {}

  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    if (target_->fn.IsEmpty()) return outputs;  // removed from inside a hook: disabled, not yet deleted
    if (std::this_thread::get_id() != target_->thread) {
      throw std::runtime_error("a gradient-ready hook can only run when backward runs on the JavaScript thread (CPU tensors); "
                               "this backward ran it on an autograd device thread");
    }
    Napi::HandleScope scope(target_->env);
    struct Running {
      Running() { runningHooks++; }
      ~Running() { runningHooks--; }
    } running;
    try {
      target_->fn.Call({});
    } catch (const Napi::Error& e) {
      // The JavaScript exception is taken (no longer pending) and ends backward as a C++ error,
      // which the autograd engine carries out of backward() and the binding turns back into an Error.
      throw std::runtime_error(std::string("a gradient-ready hook threw: ") + e.Message());
    }
    return outputs;
  }

 private:
  std::shared_ptr<HookTarget> target_;
};

// The handle JavaScript holds. It owns the leaf's AccumulateGrad node: the
// tensor itself keeps only a weak reference, so without this the node (and
// the hook on it) would be rebuilt by the next forward pass.
struct GradHookBox {
  std::shared_ptr<torch::autograd::Node> accumulator;
  std::shared_ptr<HookTarget> target;
  uintptr_t key = 0;
};

static void removeHook(GradHookBox* box) {
  if (!box->accumulator) return;
  if (runningHooks == 0) box->accumulator->del_post_hook(box->key);
  box->accumulator.reset();
  box->target->fn.Reset();
  box->target.reset();
}

static void finalizeHook(Napi::Env, GradHookBox* box) {
  removeHook(box);
  delete box;
}

// addGradReadyHook(leaf, fn) -> hook handle; fn() is called once per backward that accumulates the leaf's gradient.
HC_FN(addGradReadyHook) {
  HC_GUARD_BEGIN
  auto& leaf = unwrap(info[0], "leaf");
  if (!info[1].IsFunction()) throw Napi::TypeError::New(info.Env(), "expected a function for the gradient-ready hook");
  if (!leaf.requires_grad() || !leaf.is_leaf()) {
    throw Napi::Error::New(info.Env(), "a gradient-ready hook needs a leaf tensor that requires grad (a parameter)");
  }
  auto box = std::make_unique<GradHookBox>();
  box->accumulator = torch::autograd::impl::grad_accumulator(leaf);
  if (!box->accumulator) throw Napi::Error::New(info.Env(), "this tensor has no gradient accumulator");
  box->target = std::make_shared<HookTarget>(info.Env());
  box->target->fn = Napi::Persistent(info[1].As<Napi::Function>());
  box->key = box->accumulator->add_post_hook(std::make_unique<JsGradReadyHook>(box->target));
  return Napi::External<GradHookBox>::New(info.Env(), box.release(), finalizeHook);
  HC_GUARD_END
}

// removeGradReadyHook(hook): the function is not called again and the node is released; a second call does nothing.
HC_FN(removeGradReadyHook) {
  HC_GUARD_BEGIN
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "expected a gradient-ready hook");
  removeHook(info[0].As<Napi::External<GradHookBox>>().Data());
  return info.Env().Undefined();
  HC_GUARD_END
}

void initGradHooks(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Fn> table[] = {
      {"addGradReadyHook", addGradReadyHook}, {"removeGradReadyHook", removeGradReadyHook},
  };
  for (const auto& [name, fn] : table) registerFn(env, exports, name, fn);
}

}  // namespace hc
