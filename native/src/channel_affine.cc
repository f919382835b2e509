// A per-channel affine with per-sample rows and an optional clamp, in one
// pass forward and one pass backward:
//   y[n, c, ...] = clamp(x[n, c, ...] * scale[r(n), c] + shift[r(n), c], min, max)
// with r(n) = n for scale [N, C] and r(n) = 0 for [1, C] or [C]. It is generic
// (any op that scales and shifts channels, e.g. a norm whose statistics are
// frozen or already applied), not a model layer.
//
// Composed from ATen ops (addcmul, then hardtanh), its backward makes three
// activation-sized passes for the affine (grad * scale; grad * x, then a sum
// for the scale; a sum for the shift) and one for the clamp; here the
// gradients of x, scale and shift come from one pass over grad, x and y, and
// the reductions are per sample, in double. The fast path takes float32 and
// float64 CPU tensors in NCHW-contiguous or channels-last layout; anything
// else (another device or dtype, other strides) runs the ATen composition,
// same values and gradients.
//
// The clamp is hardtanh's: where the output sits at a bound, no gradient.
#include "common.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace hc {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

enum class Layout { Nchw, ChannelsLast };

struct Geometry {
  int64_t n = 0, c = 0, s = 0, rows = 0;
  Layout layout = Layout::Nchw;
};

template <typename T>
inline T clampTo(T z, T lo, T hi) {
  // NaN passes through, as at::hardtanh lets it.
  return z < lo ? lo : (z > hi ? hi : z);
}

// The loops live in named functions, not in parallel_for's lambdas, so that
// the attribute reaches them (O3: GCC vectorises the channel loops).
template <typename T>
__attribute__((optimize("O3"))) void forwardRange(const T* __restrict x, const T* __restrict scale, const T* __restrict shift,
                                                  T* __restrict y, const Geometry& g, T lo, T hi, int64_t begin, int64_t end) {
  for (int64_t n = begin; n < end; n++) {
    const int64_t r = g.rows == 1 ? 0 : n;
    const T* __restrict sr = scale + r * g.c;
    const T* __restrict br = shift + r * g.c;
    if (g.layout == Layout::ChannelsLast) {
      for (int64_t p = 0; p < g.s; p++) {
        const int64_t base = (n * g.s + p) * g.c;
        const T* __restrict xi = x + base;
        T* __restrict yi = y + base;
        for (int64_t c = 0; c < g.c; c++) yi[c] = clampTo(xi[c] * sr[c] + br[c], lo, hi);
      }
    } else {
      for (int64_t c = 0; c < g.c; c++) {
        const int64_t base = (n * g.c + c) * g.s;
        const T* __restrict xi = x + base;
        T* __restrict yi = y + base;
        const T sc = sr[c], sh = br[c];
        for (int64_t p = 0; p < g.s; p++) yi[p] = clampTo(xi[p] * sc + sh, lo, hi);
      }
    }
  }
}

template <typename T>
void forwardKernel(const T* x, const T* scale, const T* shift, T* y, const Geometry& g, T lo, T hi) {
  at::parallel_for(0, g.n, 1, [&](int64_t begin, int64_t end) { forwardRange(x, scale, shift, y, g, lo, hi, begin, end); });
}

// Pixels summed in T before a sample's sums take them in double.
constexpr int64_t kBlock = 32;

// One pass over grad (and x, y where needed): gx = m * grad * scale, and per
// sample and channel sums of m * grad * x and m * grad (m: 0 where y is at a
// bound), in blocks of kBlock pixels summed in T, then in double.
template <typename T, bool CLAMP, bool GX, bool GS, bool GB>
__attribute__((optimize("O3"))) void backwardRange(const T* __restrict grad, const T* __restrict x, const T* __restrict y,
                                                   const T* __restrict scale, T* __restrict gx, double* sumScale, double* sumShift,
                                                   const Geometry& g, T lo, T hi, int64_t begin, int64_t end) {
  std::vector<T> blockScale(GS ? g.c : 0), blockShift(GB ? g.c : 0);
  T* __restrict bs = blockScale.data();
  T* __restrict bb = blockShift.data();
  for (int64_t n = begin; n < end; n++) {
    const int64_t r = g.rows == 1 ? 0 : n;
    const T* __restrict sr = GX ? scale + r * g.c : nullptr;
    double* as = GS ? sumScale + n * g.c : nullptr;
    double* ab = GB ? sumShift + n * g.c : nullptr;
    if (g.layout == Layout::ChannelsLast) {
      for (int64_t p0 = 0; p0 < g.s; p0 += kBlock) {
        if (GS) std::fill(blockScale.begin(), blockScale.end(), T(0));
        if (GB) std::fill(blockShift.begin(), blockShift.end(), T(0));
        const int64_t p1 = std::min(g.s, p0 + kBlock);
        for (int64_t p = p0; p < p1; p++) {
          const int64_t base = (n * g.s + p) * g.c;
          const T* __restrict gi = grad + base;
          const T* __restrict xi = GS ? x + base : nullptr;
          const T* __restrict yi = CLAMP ? y + base : nullptr;
          T* __restrict gxi = GX ? gx + base : nullptr;
          for (int64_t c = 0; c < g.c; c++) {
            T gz = gi[c];
            if (CLAMP) gz = ((yi[c] > lo) & (yi[c] < hi)) ? gz : T(0);
            if (GX) gxi[c] = gz * sr[c];
            if (GS) bs[c] += gz * xi[c];
            if (GB) bb[c] += gz;
          }
        }
        for (int64_t c = 0; c < g.c; c++) {
          if (GS) as[c] += static_cast<double>(bs[c]);
          if (GB) ab[c] += static_cast<double>(bb[c]);
        }
      }
    } else {
      for (int64_t c = 0; c < g.c; c++) {
        const int64_t base = (n * g.c + c) * g.s;
        const T sc = GX ? sr[c] : T(0);
        double ds = 0, db = 0;
        for (int64_t p = 0; p < g.s; p++) {
          T gz = grad[base + p];
          if (CLAMP) gz = ((y[base + p] > lo) & (y[base + p] < hi)) ? gz : T(0);
          if (GX) gx[base + p] = gz * sc;
          if (GS) ds += static_cast<double>(gz) * static_cast<double>(x[base + p]);
          if (GB) db += static_cast<double>(gz);
        }
        if (GS) as[c] = ds;
        if (GB) ab[c] = db;
      }
    }
  }
}

template <typename T, bool CLAMP, bool GX, bool GS, bool GB>
void backwardKernel(const T* grad, const T* x, const T* y, const T* scale, T* gx, double* sumScale, double* sumShift, const Geometry& g,
                    T lo, T hi) {
  at::parallel_for(0, g.n, 1, [&](int64_t begin, int64_t end) {
    backwardRange<T, CLAMP, GX, GS, GB>(grad, x, y, scale, gx, sumScale, sumShift, g, lo, hi, begin, end);
  });
}

template <typename T, bool CLAMP>
void backwardDispatch(bool gxOn, bool gsOn, bool gbOn, const T* grad, const T* x, const T* y, const T* scale, T* gx, double* ss,
                      double* sb, const Geometry& g, T lo, T hi) {
#define HC_CASE(A, B, C)                                                                      \
  if (gxOn == A && gsOn == B && gbOn == C) {                                                  \
    backwardKernel<T, CLAMP, A, B, C>(grad, x, y, scale, gx, ss, sb, g, lo, hi);             \
    return;                                                                                   \
  }
  HC_CASE(true, true, true)
  HC_CASE(true, true, false)
  HC_CASE(true, false, true)
  HC_CASE(true, false, false)
  HC_CASE(false, true, true)
  HC_CASE(false, true, false)
  HC_CASE(false, false, true)
#undef HC_CASE
}

Geometry geometryOf(const at::Tensor& x, int64_t rows, Layout layout) {
  Geometry g;
  g.n = x.size(0);
  g.c = x.size(1);
  g.s = g.n * g.c == 0 ? 0 : x.numel() / (g.n * g.c);
  g.rows = rows;
  g.layout = layout;
  return g;
}

at::MemoryFormat formatOf(Layout layout) {
  return layout == Layout::ChannelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

// [rows, C] sums of the per-sample sums [N, C]: rows 1 adds every sample.
at::Tensor rowSums(const at::Tensor& perSample, int64_t rows, const at::Tensor& like) {
  auto out = rows == 1 ? perSample.sum(0, true) : perSample;
  return out.to(like.scalar_type()).reshape(like.sizes());
}

struct ChannelAffine : public torch::autograd::Function<ChannelAffine> {
  // scale and shift arrive as [rows, C] contiguous tensors of x's dtype; the caller checked the shapes.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift, double lo,
                            double hi, int64_t layoutCode) {
    const auto layout = static_cast<Layout>(layoutCode);
    const int64_t rows = scale.size(0);
    const auto g = geometryOf(x, rows, layout);
    auto y = at::empty(x.sizes(), x.options(), formatOf(layout));
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "channelAffine", [&] {
      forwardKernel<scalar_t>(x.data_ptr<scalar_t>(), scale.data_ptr<scalar_t>(), shift.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), g,
                              static_cast<scalar_t>(lo), static_cast<scalar_t>(hi));
    });
    const bool clamped = std::isfinite(lo) || std::isfinite(hi);
    ctx->saved_data["lo"] = lo;
    ctx->saved_data["hi"] = hi;
    ctx->saved_data["layout"] = layoutCode;
    ctx->saved_data["rows"] = rows;
    ctx->saved_data["clamped"] = clamped;
    // Only what the asked gradients need: x for the scale's, scale for x's, y for the clamp's mask.
    ctx->save_for_backward({scale.requires_grad() ? x : at::Tensor(), x.requires_grad() ? scale : at::Tensor(),
                            clamped ? y : at::Tensor()});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& scale = saved[1];
    const auto& y = saved[2];
    const double lo = ctx->saved_data["lo"].toDouble(), hi = ctx->saved_data["hi"].toDouble();
    const auto layout = static_cast<Layout>(ctx->saved_data["layout"].toInt());
    const bool clamped = ctx->saved_data["clamped"].toBool();
    const bool gxOn = ctx->needs_input_grad(0), gsOn = ctx->needs_input_grad(1), gbOn = ctx->needs_input_grad(2);
    at::Tensor gx, gs, gb;
    if (!grads[0].defined() || !(gxOn || gsOn || gbOn)) return {gx, gs, gb, at::Tensor(), at::Tensor(), at::Tensor()};
    const auto grad = grads[0].contiguous(formatOf(layout));
    const int64_t rows = ctx->saved_data["rows"].toInt();
    const auto g = geometryOf(grad, rows, layout);
    const auto sumOptions = grad.options().dtype(at::kDouble);
    at::Tensor sumScale = gsOn ? at::zeros({g.n, g.c}, sumOptions) : at::Tensor();
    at::Tensor sumShift = gbOn ? at::zeros({g.n, g.c}, sumOptions) : at::Tensor();
    if (gxOn) gx = at::empty(grad.sizes(), grad.options(), formatOf(layout));
    AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "channelAffineBackward", [&] {
      const auto* gp = grad.data_ptr<scalar_t>();
      const auto* xp = gsOn ? x.data_ptr<scalar_t>() : nullptr;
      const auto* yp = clamped ? y.data_ptr<scalar_t>() : nullptr;
      const auto* sp = gxOn ? scale.data_ptr<scalar_t>() : nullptr;
      auto* gxp = gxOn ? gx.data_ptr<scalar_t>() : nullptr;
      auto* ssp = gsOn ? sumScale.data_ptr<double>() : nullptr;
      auto* sbp = gbOn ? sumShift.data_ptr<double>() : nullptr;
      const auto l = static_cast<scalar_t>(lo), h = static_cast<scalar_t>(hi);
      if (clamped) backwardDispatch<scalar_t, true>(gxOn, gsOn, gbOn, gp, xp, yp, sp, gxp, ssp, sbp, g, l, h);
      else backwardDispatch<scalar_t, false>(gxOn, gsOn, gbOn, gp, xp, yp, sp, gxp, ssp, sbp, g, l, h);
    });
    const auto rowShape = at::empty({rows, g.c}, grad.options());
    if (gsOn) gs = rowSums(sumScale, rows, rowShape);
    if (gbOn) gb = rowSums(sumShift, rows, rowShape);
    return {gx, gs, gb, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// The fast path's layout for x, or none.
c10::optional<Layout> fastLayout(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift) {
  const auto type = x.scalar_type();
  if (!x.device().is_cpu() || (type != at::kFloat && type != at::kDouble)) return c10::nullopt;
  if (scale.scalar_type() != type || shift.scalar_type() != type || !scale.device().is_cpu() || !shift.device().is_cpu()) return c10::nullopt;
  if (x.is_contiguous()) return Layout::Nchw;
  if (x.dim() == 4 && x.is_contiguous(at::MemoryFormat::ChannelsLast)) return Layout::ChannelsLast;
  return c10::nullopt;
}

at::Tensor channelAffineOf(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift, c10::optional<double> lo,
                           c10::optional<double> hi) {
  TORCH_CHECK(x.dim() >= 2, "channelAffine: x must be [N, C, ...], got ", x.dim(), " dims");
  const int64_t n = x.size(0), c = x.size(1);
  auto rowsOf = [&](const at::Tensor& p, const char* what) {
    const bool perChannel = p.dim() == 1 && p.size(0) == c;
    const bool perRow = p.dim() == 2 && p.size(1) == c && (p.size(0) == 1 || p.size(0) == n);
    TORCH_CHECK(perChannel || perRow, "channelAffine: ", what, " must be [C], [1, C] or [N, C] with N = ", n, " and C = ", c, ", got ",
                p.sizes());
    return perChannel ? int64_t{1} : p.size(0);
  };
  const int64_t rows = rowsOf(scale, "scale");
  TORCH_CHECK(rowsOf(shift, "shift") == rows, "channelAffine: scale and shift must have the same rows, got ", scale.sizes(), " and ",
              shift.sizes());
  const double inf = std::numeric_limits<double>::infinity();
  const double l = lo.value_or(-inf), h = hi.value_or(inf);
  TORCH_CHECK(!(l > h), "channelAffine: min ", l, " is above max ", h);
  const auto layout = fastLayout(x, scale, shift);
  if (!layout.has_value()) {
    std::vector<int64_t> shape(x.dim(), 1);
    shape[0] = rows;
    shape[1] = c;
    auto out = at::addcmul(shift.reshape(shape), x, scale.reshape(shape));
    return (lo.has_value() || hi.has_value()) ? at::hardtanh(out, l, h) : out;
  }
  // The reshapes are differentiable views (or copies) outside the function: gradients come back in the callers' shapes.
  return ChannelAffine::apply(x, scale.reshape({rows, c}).contiguous(), shift.reshape({rows, c}).contiguous(), l, h,
                              static_cast<int64_t>(*layout));
}

HC_FN(channelAffine) {
  HC_GUARD_BEGIN
  c10::optional<double> lo, hi;
  if (info[3].IsNumber()) lo = num(info[3], "min");
  if (info[4].IsNumber()) hi = num(info[4], "max");
  return wrap(info.Env(), channelAffineOf(unwrap(info[0], "x"), unwrap(info[1], "scale"), unwrap(info[2], "shift"), lo, hi));
  HC_GUARD_END
}

}  // namespace

void initChannelAffine(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Fn> table[] = {
      {"channelAffine", channelAffine},
  };
  for (const auto& [name, fn] : table) registerFn(env, exports, name, fn);
}

}  // namespace hc
