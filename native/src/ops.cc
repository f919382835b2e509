// Tensor creation, data transfer and the forward operations. Each function
// converts its arguments, calls one ATen function and wraps the result.
#include "common.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace hc {

static at::TensorOptions optionsFor(const Napi::Value& dtype, const Napi::Value& device) {
  auto options = at::TensorOptions().dtype(scalarType(dtype.IsUndefined() ? 0 : static_cast<int>(int64(dtype, "dtype"))));
  if (device.IsString()) options = options.device(at::Device(device.As<Napi::String>().Utf8Value()));
  return options;
}

// ---- creation and transfer ----

HC_FN(fromBuffer) {
  HC_GUARD_BEGIN
  auto shape = intList(info[1], "shape");
  auto type = scalarType(static_cast<int>(int64(info[2], "dtype")));
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "expected a typed array of data");
  auto array = info[0].As<Napi::TypedArray>();
  int64_t numel = 1;
  for (auto d : shape) numel *= d;
  size_t need = static_cast<size_t>(numel) * c10::elementSize(type);
  if (array.ByteLength() != need) {
    throw Napi::RangeError::New(info.Env(), "data has " + std::to_string(array.ByteLength()) + " bytes but shape and dtype need " +
                                                std::to_string(need));
  }
  auto* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  auto out = at::empty(shape, at::TensorOptions().dtype(type));
  if (need > 0) std::memcpy(out.data_ptr(), data, need);
  if (info[3].IsString()) out = out.to(at::Device(info[3].As<Napi::String>().Utf8Value()));
  return wrap(info.Env(), out);
  HC_GUARD_END
}

HC_FN(toBuffer) {
  HC_GUARD_BEGIN
  auto t = unwrap(info[0]).detach().to(at::kCPU).contiguous();
  size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
  auto buffer = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), t.data_ptr(), bytes);
  return buffer;
  HC_GUARD_END
}

HC_FN(item) {
  HC_GUARD_BEGIN
  auto& t = unwrap(info[0]);
  if (t.numel() != 1) throw Napi::Error::New(info.Env(), "item() needs a tensor with one element, got " + std::to_string(t.numel()));
  return Napi::Number::New(info.Env(), t.item<double>());
  HC_GUARD_END
}

HC_FN(meta) {
  HC_GUARD_BEGIN
  auto& t = unwrap(info[0]);
  auto out = Napi::Object::New(info.Env());
  auto sizes = t.sizes();
  auto shape = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
  out.Set("shape", shape);
  out.Set("dtype", dtypeCode(t.scalar_type()));
  out.Set("device", t.device().str());
  out.Set("requiresGrad", t.requires_grad());
  return out;
  HC_GUARD_END
}

HC_FN(shape) {
  HC_GUARD_BEGIN
  auto sizes = unwrap(info[0]).sizes();
  auto shape = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
  return shape;
  HC_GUARD_END
}

HC_FN(dtype) {
  HC_GUARD_BEGIN
  return Napi::Number::New(info.Env(), dtypeCode(unwrap(info[0]).scalar_type()));
  HC_GUARD_END
}

HC_FN(zeros) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::zeros(intList(info[0], "shape"), optionsFor(info[1], info[2])));
  HC_GUARD_END
}

HC_FN(ones) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::ones(intList(info[0], "shape"), optionsFor(info[1], info[2])));
  HC_GUARD_END
}

HC_FN(full) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::full(intList(info[0], "shape"), num(info[1], "value"), optionsFor(info[2], info[3])));
  HC_GUARD_END
}

HC_FN(arange) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::arange(num(info[0], "start"), num(info[1], "end"), num(info[2], "step"), optionsFor(info[3], info[4])));
  HC_GUARD_END
}

// Zeros with the shape, dtype, device and memory layout (e.g. channels-last) of x.
HC_FN(zerosLike) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::zeros_like(unwrap(info[0]), at::MemoryFormat::Preserve));
  HC_GUARD_END
}

HC_FN(rand) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::rand(intList(info[0], "shape"), optionsFor(info[1], info[2])));
  HC_GUARD_END
}

HC_FN(randn) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::randn(intList(info[0], "shape"), optionsFor(info[1], info[2])));
  HC_GUARD_END
}

HC_FN(randint) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::randint(int64(info[0], "low"), int64(info[1], "high"), intList(info[2], "shape"),
                                      optionsFor(Napi::Number::New(info.Env(), 1), info[3])));
  HC_GUARD_END
}

HC_FN(randperm) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::randperm(int64(info[0], "n"), optionsFor(Napi::Number::New(info.Env(), 1), info[1])));
  HC_GUARD_END
}

HC_FN(to) {
  HC_GUARD_BEGIN
  auto& t = unwrap(info[0]);
  if (info[1].IsString()) return wrap(info.Env(), t.to(at::Device(info[1].As<Napi::String>().Utf8Value())));
  return wrap(info.Env(), t.to(scalarType(static_cast<int>(int64(info[1], "dtype")))));
  HC_GUARD_END
}

// ---- elementwise ----

// Codes shared with src/engine/ops.ts (UNARY).
HC_FN(unary) {
  HC_GUARD_BEGIN
  auto& x = unwrap(info[1]);
  switch (int64(info[0], "unary op")) {
    case 0: return wrap(info.Env(), at::neg(x));
    case 1: return wrap(info.Env(), at::exp(x));
    case 2: return wrap(info.Env(), at::log(x));
    case 3: return wrap(info.Env(), at::sqrt(x));
    case 4: return wrap(info.Env(), at::rsqrt(x));
    case 5: return wrap(info.Env(), at::abs(x));
    case 6: return wrap(info.Env(), at::sin(x));
    case 7: return wrap(info.Env(), at::cos(x));
    case 8: return wrap(info.Env(), at::relu(x));
    case 9: return wrap(info.Env(), at::hardtanh(x, 0.0, 6.0));
    case 10: return wrap(info.Env(), at::silu(x));
    case 11: return wrap(info.Env(), at::gelu(x));
    case 12: return wrap(info.Env(), at::gelu(x, "tanh"));
    case 13: return wrap(info.Env(), at::sigmoid(x));
    case 14: return wrap(info.Env(), at::tanh(x));
    case 15: return wrap(info.Env(), at::hardswish(x));
    case 16: return wrap(info.Env(), at::hardsigmoid(x));
    case 17: return wrap(info.Env(), at::softplus(x));
    case 18: return wrap(info.Env(), at::log_sigmoid(x));
    case 19: return wrap(info.Env(), at::sign(x));
    case 20: return wrap(info.Env(), at::floor(x));
    case 21: return wrap(info.Env(), at::round(x));
    case 22: return wrap(info.Env(), at::reciprocal(x));
    case 23: return wrap(info.Env(), at::logical_not(x));
    case 24: return wrap(info.Env(), at::erf(x));
    case 25: return wrap(info.Env(), at::square(x));
    case 26: return wrap(info.Env(), at::ceil(x));
    case 27: return wrap(info.Env(), at::log1p(x));
    case 28: return wrap(info.Env(), at::expm1(x));
  }
  throw Napi::Error::New(info.Env(), "unknown unary op code");
  HC_GUARD_END
}

// Codes shared with src/engine/ops.ts (BINARY). The right operand is a tensor or a number.
HC_FN(binary) {
  HC_GUARD_BEGIN
  auto& a = unwrap(info[1]);
  int64_t code = int64(info[0], "binary op");
  if (info[2].IsNumber()) {
    // Whole numbers go in as integer scalars so int64 tensors stay int64 (as in PyTorch).
    double value = info[2].As<Napi::Number>().DoubleValue();
    bool whole = std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9007199254740992.0;
    at::Scalar b = whole ? at::Scalar(static_cast<int64_t>(value)) : at::Scalar(value);
    switch (code) {
      case 0: return wrap(info.Env(), at::add(a, b));
      case 1: return wrap(info.Env(), at::sub(a, b));
      case 2: return wrap(info.Env(), at::mul(a, b));
      case 3: return wrap(info.Env(), at::div(a, b));
      case 4: return wrap(info.Env(), at::pow(a, b));
      case 5: return wrap(info.Env(), at::clamp_min(a, b));
      case 6: return wrap(info.Env(), at::clamp_max(a, b));
      case 7: return wrap(info.Env(), at::eq(a, b));
      case 8: return wrap(info.Env(), at::ne(a, b));
      case 9: return wrap(info.Env(), at::lt(a, b));
      case 10: return wrap(info.Env(), at::le(a, b));
      case 11: return wrap(info.Env(), at::gt(a, b));
      case 12: return wrap(info.Env(), at::ge(a, b));
      case 15: return wrap(info.Env(), at::remainder(a, b));
    }
    throw Napi::Error::New(info.Env(), "this binary op needs a tensor on the right");
  }
  auto& b = unwrap(info[2], "right operand");
  switch (code) {
    case 0: return wrap(info.Env(), at::add(a, b));
    case 1: return wrap(info.Env(), at::sub(a, b));
    case 2: return wrap(info.Env(), at::mul(a, b));
    case 3: return wrap(info.Env(), at::div(a, b));
    case 4: return wrap(info.Env(), at::pow(a, b));
    case 5: return wrap(info.Env(), at::maximum(a, b));
    case 6: return wrap(info.Env(), at::minimum(a, b));
    case 7: return wrap(info.Env(), at::eq(a, b));
    case 8: return wrap(info.Env(), at::ne(a, b));
    case 9: return wrap(info.Env(), at::lt(a, b));
    case 10: return wrap(info.Env(), at::le(a, b));
    case 11: return wrap(info.Env(), at::gt(a, b));
    case 12: return wrap(info.Env(), at::ge(a, b));
    case 13: return wrap(info.Env(), at::logical_and(a, b));
    case 14: return wrap(info.Env(), at::logical_or(a, b));
    case 15: return wrap(info.Env(), at::remainder(a, b));
  }
  throw Napi::Error::New(info.Env(), "unknown binary op code");
  HC_GUARD_END
}

HC_FN(clamp) {
  HC_GUARD_BEGIN
  c10::optional<at::Scalar> lo, hi;
  if (info[1].IsNumber()) lo = num(info[1], "min");
  if (info[2].IsNumber()) hi = num(info[2], "max");
  return wrap(info.Env(), at::clamp(unwrap(info[0]), lo, hi));
  HC_GUARD_END
}

// self + t1 * t2 in one pass (autograd-aware).
HC_FN(addcmul) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::addcmul(unwrap(info[0], "self"), unwrap(info[1], "tensor1"), unwrap(info[2], "tensor2")));
  HC_GUARD_END
}

HC_FN(where) {
  HC_GUARD_BEGIN
  auto& cond = unwrap(info[0], "condition");
  if (info[1].IsNumber() && info[2].IsNumber())
    return wrap(info.Env(), at::where(cond, at::Scalar(num(info[1], "a")), at::Scalar(num(info[2], "b"))));
  if (info[1].IsNumber()) return wrap(info.Env(), at::where(cond, at::Scalar(num(info[1], "a")), unwrap(info[2])));
  if (info[2].IsNumber()) return wrap(info.Env(), at::where(cond, unwrap(info[1]), at::Scalar(num(info[2], "b"))));
  return wrap(info.Env(), at::where(cond, unwrap(info[1]), unwrap(info[2])));
  HC_GUARD_END
}

HC_FN(maskedFill) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::masked_fill(unwrap(info[0]), unwrap(info[1], "mask"), num(info[2], "value")));
  HC_GUARD_END
}

// ---- reductions ----

// Codes: 0 sum, 1 mean, 2 amax, 3 amin, 4 logsumexp, 5 all, 6 any, 7 prod.
HC_FN(reduce) {
  HC_GUARD_BEGIN
  int64_t code = int64(info[0], "reduction");
  auto& x = unwrap(info[1]);
  auto dims = optionalIntList(info[2], "dims");
  bool keep = flag(info[3]);
  std::vector<int64_t> all;
  if (!dims) {
    for (int64_t d = 0; d < x.dim(); d++) all.push_back(d);
  }
  at::IntArrayRef d = dims ? at::IntArrayRef(*dims) : at::IntArrayRef(all);
  // prod/all/any reduce one dim at a time: from the last, so earlier indices stay valid.
  auto oneByOne = [&](auto reduceOne) {
    std::vector<int64_t> order;
    for (auto v : d) order.push_back(v < 0 ? v + x.dim() : v);
    std::sort(order.rbegin(), order.rend());
    at::Tensor out = x;
    for (auto v : order) out = reduceOne(out, v);
    if (order.empty() && !keep) out = out.clone();
    return out;
  };
  switch (code) {
    case 0: return wrap(info.Env(), (dims || keep) ? at::sum(x, d, keep) : at::sum(x));
    case 1: return wrap(info.Env(), (dims || keep) ? at::mean(x, d, keep) : at::mean(x));
    case 2: return wrap(info.Env(), at::amax(x, d, keep));
    case 3: return wrap(info.Env(), at::amin(x, d, keep));
    case 4: return wrap(info.Env(), at::logsumexp(x, d, keep));
    case 5: return wrap(info.Env(), oneByOne([&](const at::Tensor& t, int64_t v) { return at::all(t, v, keep); }));
    case 6: return wrap(info.Env(), oneByOne([&](const at::Tensor& t, int64_t v) { return at::any(t, v, keep); }));
    case 7: return wrap(info.Env(), oneByOne([&](const at::Tensor& t, int64_t v) { return at::prod(t, v, keep); }));
  }
  throw Napi::Error::New(info.Env(), "unknown reduction code");
  HC_GUARD_END
}

HC_FN(argmax) {
  HC_GUARD_BEGIN
  auto& x = unwrap(info[0]);
  c10::optional<int64_t> dim;
  if (info[1].IsNumber()) dim = int64(info[1], "dim");
  bool largest = info.Length() < 4 || flag(info[3]);
  return wrap(info.Env(), largest ? at::argmax(x, dim, flag(info[2])) : at::argmin(x, dim, flag(info[2])));
  HC_GUARD_END
}

HC_FN(topk) {
  HC_GUARD_BEGIN
  auto result = at::topk(unwrap(info[0]), int64(info[1], "k"), int64(info[2], "dim"), flag(info[3]), true);
  return wrapList(info.Env(), {std::get<0>(result), std::get<1>(result)});
  HC_GUARD_END
}

HC_FN(norm) {
  HC_GUARD_BEGIN
  auto& x = unwrap(info[0]);
  auto dims = optionalIntList(info[2], "dims");
  at::Scalar p(num(info[1], "p"));
  if (!dims && !flag(info[3])) return wrap(info.Env(), at::norm(x, p));
  std::vector<int64_t> all;
  for (int64_t v = 0; v < x.dim(); v++) all.push_back(v);
  return wrap(info.Env(), at::norm(x, p, dims ? at::IntArrayRef(*dims) : at::IntArrayRef(all), flag(info[3])));
  HC_GUARD_END
}

HC_FN(variance) {
  HC_GUARD_BEGIN
  auto& x = unwrap(info[0]);
  auto dims = optionalIntList(info[1], "dims");
  int64_t correction = flag(info[2]) ? 1 : 0;
  bool keep = flag(info[3]);
  bool stdev = flag(info[4]);
  at::OptionalIntArrayRef d = dims ? at::OptionalIntArrayRef(*dims) : c10::nullopt;
  return wrap(info.Env(), stdev ? at::std(x, d, correction, keep) : at::var(x, d, correction, keep));
  HC_GUARD_END
}

HC_FN(cumsum) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::cumsum(unwrap(info[0]), int64(info[1], "dim")));
  HC_GUARD_END
}

// ---- shape ----

HC_FN(reshape) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::reshape(unwrap(info[0]), intList(info[1], "shape")));
  HC_GUARD_END
}

HC_FN(permute) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), unwrap(info[0]).permute(intList(info[1], "dims")));
  HC_GUARD_END
}

HC_FN(transpose) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::transpose(unwrap(info[0]), int64(info[1], "dim0"), int64(info[2], "dim1")));
  HC_GUARD_END
}

HC_FN(cat) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::cat(unwrapList(info[0]), int64(info[1], "dim")));
  HC_GUARD_END
}

HC_FN(stack) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::stack(unwrapList(info[0]), int64(info[1], "dim")));
  HC_GUARD_END
}

HC_FN(slice) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::slice(unwrap(info[0]), int64(info[1], "dim"), int64(info[2], "start"), int64(info[3], "end"),
                                    int64(info[4], "step")));
  HC_GUARD_END
}

HC_FN(indexSelect) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::index_select(unwrap(info[0]), int64(info[1], "dim"), unwrap(info[2], "index")));
  HC_GUARD_END
}

HC_FN(gather) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::gather(unwrap(info[0]), int64(info[1], "dim"), unwrap(info[2], "index")));
  HC_GUARD_END
}

HC_FN(expand) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), unwrap(info[0]).expand(intList(info[1], "shape")));
  HC_GUARD_END
}

HC_FN(squeeze) {
  HC_GUARD_BEGIN
  auto& x = unwrap(info[0]);
  if (info[1].IsNumber()) return wrap(info.Env(), at::squeeze(x, int64(info[1], "dim")));
  return wrap(info.Env(), at::squeeze(x));
  HC_GUARD_END
}

HC_FN(unsqueeze) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::unsqueeze(unwrap(info[0]), int64(info[1], "dim")));
  HC_GUARD_END
}

// memoryFormat: 0 contiguous, 1 channels-last.
HC_FN(contiguous) {
  HC_GUARD_BEGIN
  auto format = int64(info[1], "memory format") == 1 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  return wrap(info.Env(), unwrap(info[0]).contiguous(format));
  HC_GUARD_END
}

HC_FN(isContiguous) {
  HC_GUARD_BEGIN
  auto format = int64(info[1], "memory format") == 1 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  return Napi::Boolean::New(info.Env(), unwrap(info[0]).is_contiguous(format));
  HC_GUARD_END
}

HC_FN(flatten) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::flatten(unwrap(info[0]), int64(info[1], "start"), int64(info[2], "end")));
  HC_GUARD_END
}

HC_FN(repeat) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), unwrap(info[0]).repeat(intList(info[1], "repeats")));
  HC_GUARD_END
}

HC_FN(triangle) {
  HC_GUARD_BEGIN
  auto& x = unwrap(info[0]);
  int64_t diagonal = int64(info[1], "diagonal");
  return wrap(info.Env(), flag(info[2]) ? at::triu(x, diagonal) : at::tril(x, diagonal));
  HC_GUARD_END
}

HC_FN(flip) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::flip(unwrap(info[0]), intList(info[1], "dims")));
  HC_GUARD_END
}

HC_FN(clone) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), unwrap(info[0]).clone());
  HC_GUARD_END
}

HC_FN(pad) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::constant_pad_nd(unwrap(info[0]), intList(info[1], "padding"), num(info[2], "value")));
  HC_GUARD_END
}

// ---- neural network ----

HC_FN(conv2d) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::conv2d(unwrap(info[0], "input"), unwrap(info[1], "weight"), unwrapOptional(info[2]),
                                     intList(info[3], "stride"), intList(info[4], "padding"), intList(info[5], "dilation"),
                                     int64(info[6], "groups")));
  HC_GUARD_END
}

HC_FN(batchNorm) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::batch_norm(unwrap(info[0], "input"), unwrapOptional(info[1]), unwrapOptional(info[2]),
                                         unwrapOptional(info[3]), unwrapOptional(info[4]), flag(info[5]),
                                         num(info[6], "momentum"), num(info[7], "eps"), true));
  HC_GUARD_END
}

HC_FN(layerNorm) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::layer_norm(unwrap(info[0], "input"), intList(info[1], "normalized shape"), unwrapOptional(info[2]),
                                         unwrapOptional(info[3]), num(info[4], "eps"), true));
  HC_GUARD_END
}

HC_FN(groupNorm) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::group_norm(unwrap(info[0], "input"), int64(info[1], "groups"), unwrapOptional(info[2]),
                                         unwrapOptional(info[3]), num(info[4], "eps"), true));
  HC_GUARD_END
}

HC_FN(linear) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::linear(unwrap(info[0], "input"), unwrap(info[1], "weight"), unwrapOptional(info[2])));
  HC_GUARD_END
}

HC_FN(matmul) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::matmul(unwrap(info[0]), unwrap(info[1], "right operand")));
  HC_GUARD_END
}

HC_FN(bmm) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::bmm(unwrap(info[0]), unwrap(info[1], "right operand")));
  HC_GUARD_END
}

HC_FN(embedding) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::embedding(unwrap(info[0], "weight"), unwrap(info[1], "indices")));
  HC_GUARD_END
}

HC_FN(dropout) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::dropout(unwrap(info[0]), num(info[1], "p"), flag(info[2])));
  HC_GUARD_END
}

HC_FN(softmax) {
  HC_GUARD_BEGIN
  auto& x = unwrap(info[0]);
  int64_t dim = int64(info[1], "dim");
  return wrap(info.Env(), flag(info[2]) ? at::log_softmax(x, dim) : at::softmax(x, dim));
  HC_GUARD_END
}

// reduction: 0 none, 1 mean, 2 sum.
HC_FN(crossEntropy) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::cross_entropy_loss(unwrap(info[0], "logits"), unwrap(info[1], "targets"), c10::nullopt,
                                                 int64(info[3], "reduction"), -100, num(info[2], "label smoothing")));
  HC_GUARD_END
}

HC_FN(adaptiveAvgPool2d) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::adaptive_avg_pool2d(unwrap(info[0]), intList(info[1], "output size")));
  HC_GUARD_END
}

HC_FN(avgPool2d) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::avg_pool2d(unwrap(info[0]), intList(info[1], "kernel"), intList(info[2], "stride"),
                                         intList(info[3], "padding")));
  HC_GUARD_END
}

HC_FN(maxPool2d) {
  HC_GUARD_BEGIN
  return wrap(info.Env(), at::max_pool2d(unwrap(info[0]), intList(info[1], "kernel"), intList(info[2], "stride"),
                                         intList(info[3], "padding")));
  HC_GUARD_END
}

// mode: 0 nearest, 1 bilinear.
HC_FN(interpolate) {
  HC_GUARD_BEGIN
  auto& x = unwrap(info[0]);
  auto size = intList(info[1], "size");
  if (int64(info[2], "mode") == 0) return wrap(info.Env(), at::upsample_nearest2d(x, size));
  return wrap(info.Env(), at::upsample_bilinear2d(x, size, flag(info[3])));
  HC_GUARD_END
}

void initOps(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Fn> table[] = {
      {"fromBuffer", fromBuffer}, {"toBuffer", toBuffer}, {"item", item}, {"meta", meta}, {"shape", shape}, {"dtype", dtype},
      {"zeros", zeros}, {"ones", ones}, {"full", full}, {"zerosLike", zerosLike}, {"arange", arange}, {"rand", rand}, {"randn", randn},
      {"randint", randint}, {"randperm", randperm}, {"to", to}, {"unary", unary}, {"binary", binary}, {"clamp", clamp},
      {"where", where}, {"addcmul", addcmul}, {"maskedFill", maskedFill}, {"reduce", reduce}, {"argmax", argmax}, {"topk", topk}, {"norm", norm},
      {"variance", variance}, {"cumsum", cumsum}, {"reshape", reshape}, {"permute", permute}, {"transpose", transpose},
      {"cat", cat}, {"stack", stack}, {"slice", slice}, {"indexSelect", indexSelect}, {"gather", gather},
      {"expand", expand}, {"squeeze", squeeze}, {"unsqueeze", unsqueeze}, {"contiguous", contiguous},
      {"isContiguous", isContiguous}, {"flatten", flatten}, {"repeat", repeat}, {"triangle", triangle}, {"flip", flip},
      {"clone", clone}, {"pad", pad}, {"conv2d", conv2d}, {"batchNorm", batchNorm}, {"layerNorm", layerNorm},
      {"groupNorm", groupNorm}, {"linear", linear}, {"matmul", matmul}, {"bmm", bmm}, {"embedding", embedding},
      {"dropout", dropout}, {"softmax", softmax}, {"crossEntropy", crossEntropy},
      {"adaptiveAvgPool2d", adaptiveAvgPool2d}, {"avgPool2d", avgPool2d}, {"maxPool2d", maxPool2d},
      {"interpolate", interpolate},
  };
  for (const auto& [name, fn] : table) registerFn(env, exports, name, fn);
}

}  // namespace hc
