// c10d, PyTorch's distributed engine: a TCPStore rendezvous, a process group
// (Gloo on CPU; NCCL when this libtorch was built with CUDA and the addon
// with HC_WITH_NCCL), and the blocking collectives a data-parallel trainer
// needs. Every collective waits with the group's timeout, so a dead or stuck
// peer becomes a JavaScript error, never a hang or an abort.
// ProcessGroupGloo.hpp declares its classes only under this macro; Debian's
// libtorch_cpu carries the Gloo backend (headers from libgloo-dev).
#define USE_C10D_GLOO
#include "common.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef HC_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>

namespace hc {

struct GroupBox {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  std::chrono::milliseconds timeout{0};
  int rank = 0;
  int size = 1;
};

static void finalizeGroup(Napi::Env, GroupBox* box) { delete box; }

static GroupBox& unwrapGroup(const Napi::Value& value) {
  if (!value.IsExternal()) throw Napi::TypeError::New(value.Env(), "expected a process group");
  auto* box = value.As<Napi::External<GroupBox>>().Data();
  if (!box->group) throw Napi::Error::New(value.Env(), "process group used after close");
  return *box;
}

static std::string str(const Napi::Value& value, const char* what) {
  if (!value.IsString()) throw Napi::TypeError::New(value.Env(), std::string("expected a string for ") + what);
  return value.As<Napi::String>().Utf8Value();
}

// Waits for a collective; a failure or timeout of the peer side surfaces here.
static void finish(const c10::intrusive_ptr<c10d::Work>& work, std::chrono::milliseconds timeout, int rank, const char* what) {
  try {
    if (!work->wait(timeout)) throw std::runtime_error("timed out");
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(what) + " failed on rank " + std::to_string(rank) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(what) + " failed on rank " + std::to_string(rank) + ": " + e.what());
  }
}

static void finish(const c10::intrusive_ptr<c10d::Work>& work, const GroupBox& box, const char* what) {
  finish(work, box.timeout, box.rank, what);
}

// Gloo needs dense contiguous tensors: others go through a contiguous copy.
struct ContiguousView {
  at::Tensor& original;
  at::Tensor work;
  explicit ContiguousView(at::Tensor& t) : original(t), work(t.is_contiguous() ? t : t.contiguous()) {}
  void writeBack() {
    if (!work.is_same(original)) original.copy_(work);
  }
};

// connect(host, port, rank, size, timeoutMs, backend 0 gloo | 1 nccl, glooHostname, glooInterface)
HC_FN(distConnect) {
  HC_GUARD_BEGIN
  const auto host = str(info[0], "master address");
  const auto port = int64(info[1], "master port");
  const int rank = static_cast<int>(int64(info[2], "rank"));
  const int size = static_cast<int>(int64(info[3], "world size"));
  const std::chrono::milliseconds timeout(int64(info[4], "timeout"));
  const auto backend = int64(info[5], "backend");
  const auto glooHostname = str(info[6], "gloo hostname");
  const auto glooInterface = str(info[7], "gloo interface");
  c10d::TCPStoreOptions storeOptions;
  storeOptions.port = static_cast<std::uint16_t>(port);
  storeOptions.isServer = rank == 0;
  storeOptions.numWorkers = size;
  storeOptions.waitWorkers = false;
  storeOptions.timeout = timeout;
  auto box = std::make_unique<GroupBox>();
  box->timeout = timeout;
  box->rank = rank;
  box->size = size;
  try {
    auto tcp = c10::make_intrusive<c10d::TCPStore>(host, storeOptions);
    box->store = c10::make_intrusive<c10d::PrefixStore>("hyperclip", tcp);
    if (backend == 1) {
#ifdef HC_WITH_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      box->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(box->store, rank, size, options);
#else
      throw std::runtime_error("this addon was built without NCCL (a CUDA libtorch is needed): use the gloo backend");
#endif
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      if (!glooInterface.empty()) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(glooInterface));
      } else if (!glooHostname.empty()) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(glooHostname));
      } else {
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      options->threads = 2;
      box->group = c10::make_intrusive<c10d::ProcessGroupGloo>(box->store, rank, size, options);
    }
  } catch (const c10::Error& e) {
    throw std::runtime_error("rendezvous of rank " + std::to_string(rank) + " of " + std::to_string(size) + " at " + host + ":" +
                             std::to_string(port) + " failed: " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw std::runtime_error("rendezvous of rank " + std::to_string(rank) + " of " + std::to_string(size) + " at " + host + ":" +
                             std::to_string(port) + " failed: " + e.what());
  }
  return Napi::External<GroupBox>::New(info.Env(), box.release(), finalizeGroup);
  HC_GUARD_END
}

// broadcast(group, tensors, root): in place.
HC_FN(distBroadcast) {
  HC_GUARD_BEGIN
  auto& box = unwrapGroup(info[0]);
  auto tensors = unwrapList(info[1]);
  c10d::BroadcastOptions options;
  options.rootRank = int64(info[2], "root rank");
  options.timeout = box.timeout;
  for (auto& t : tensors) {
    ContiguousView view(t);
    std::vector<at::Tensor> one{view.work};
    finish(box.group->broadcast(one, options), box, "broadcast");
    view.writeBack();
  }
  return info.Env().Undefined();
  HC_GUARD_END
}

// allReduce(group, tensor, op 0 sum | 1 average): in place.
HC_FN(distAllReduce) {
  HC_GUARD_BEGIN
  auto& box = unwrapGroup(info[0]);
  auto& tensor = unwrap(info[1]);
  const auto op = int64(info[2], "reduce op");
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;  // Gloo has no AVG: average = sum / size
  options.timeout = box.timeout;
  ContiguousView view(tensor);
  std::vector<at::Tensor> one{view.work};
  finish(box.group->allreduce(one, options), box, "all-reduce");
  if (op == 1) view.work.div_(box.size);
  view.writeBack();
  return info.Env().Undefined();
  HC_GUARD_END
}

// A collective in flight: c10d's Work and the tensors it reads and writes.
struct WorkBox {
  c10::intrusive_ptr<c10d::Work> work;
  at::Tensor original;
  at::Tensor buffer;  // original, or its contiguous copy
  bool average = false;
  int size = 1;
  int rank = 0;
  std::chrono::milliseconds timeout{0};
  std::string failure;  // set when wait failed: a second wait says so again
};

static void finalizeWork(Napi::Env, WorkBox* box) { delete box; }

// allReduceAsync(group, tensor, op 0 sum | 1 average) -> work: launches the all-reduce and returns at once;
// the tensor must not be read or written until workWait(work).
HC_FN(distAllReduceAsync) {
  HC_GUARD_BEGIN
  auto& box = unwrapGroup(info[0]);
  auto& tensor = unwrap(info[1]);
  const auto op = int64(info[2], "reduce op");
  auto work = std::make_unique<WorkBox>();
  work->original = tensor;
  work->buffer = tensor.is_contiguous() ? tensor : tensor.contiguous();
  work->average = op == 1;
  work->size = box.size;
  work->rank = box.rank;
  work->timeout = box.timeout;
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;  // Gloo has no AVG: average = sum / size
  options.timeout = box.timeout;
  std::vector<at::Tensor> one{work->buffer};
  try {
    work->work = box.group->allreduce(one, options);
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string("all-reduce failed on rank ") + std::to_string(box.rank) + ": " + e.what_without_backtrace());
  }
  return Napi::External<WorkBox>::New(info.Env(), work.release(), finalizeWork);
  HC_GUARD_END
}

// workWait(work): blocks until the collective is done (or fails, or times out), then
// completes the in-place result; the work's tensors are released. A second wait does nothing (or fails again).
HC_FN(distWorkWait) {
  HC_GUARD_BEGIN
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "expected a collective's work handle");
  auto* work = info[0].As<Napi::External<WorkBox>>().Data();
  if (!work->failure.empty()) throw std::runtime_error(work->failure);
  if (!work->work) return info.Env().Undefined();
  auto done = std::move(work->work);
  auto original = std::move(work->original);
  auto buffer = std::move(work->buffer);
  try {
    finish(done, work->timeout, work->rank, "all-reduce");
  } catch (const std::exception& e) {
    work->failure = e.what();
    throw;
  }
  at::NoGradGuard guard;
  if (work->average) buffer.div_(work->size);
  if (!buffer.is_same(original)) original.copy_(buffer);
  return info.Env().Undefined();
  HC_GUARD_END
}

// allGather(group, tensor) -> one tensor per rank, in rank order.
HC_FN(distAllGather) {
  HC_GUARD_BEGIN
  auto& box = unwrapGroup(info[0]);
  auto input = unwrap(info[1]).contiguous();
  std::vector<at::Tensor> inputs{input};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < box.size; r++) outputs[0].push_back(at::empty_like(input, at::MemoryFormat::Contiguous));
  c10d::AllgatherOptions options;
  options.timeout = box.timeout;
  finish(box.group->allgather(outputs, inputs, options), box, "all-gather");
  return wrapList(info.Env(), outputs[0]);
  HC_GUARD_END
}

HC_FN(distBarrier) {
  HC_GUARD_BEGIN
  auto& box = unwrapGroup(info[0]);
  c10d::BarrierOptions options;
  options.timeout = box.timeout;
  finish(box.group->barrier(options), box, "barrier");
  return info.Env().Undefined();
  HC_GUARD_END
}

// Releases the group (its threads and sockets) and the store.
HC_FN(distClose) {
  HC_GUARD_BEGIN
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "expected a process group");
  auto* box = info[0].As<Napi::External<GroupBox>>().Data();
  box->group.reset();
  box->store.reset();
  return info.Env().Undefined();
  HC_GUARD_END
}

HC_FN(distNcclAvailable) {
#ifdef HC_WITH_NCCL
  return Napi::Boolean::New(info.Env(), true);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

void initDistributed(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Fn> table[] = {
      {"distConnect", distConnect}, {"distBroadcast", distBroadcast}, {"distAllReduce", distAllReduce},
      {"distAllReduceAsync", distAllReduceAsync},
      {"distWorkWait", distWorkWait}, {"distAllGather", distAllGather}, {"distBarrier", distBarrier}, {"distClose", distClose},
      {"distNcclAvailable", distNcclAvailable},
  };
  for (const auto& [name, fn] : table) registerFn(env, exports, name, fn);
}

}  // namespace hc
