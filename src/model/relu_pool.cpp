// max_pool2d(relu(x), 2) as one autograd op, for contiguous NCHW fp32 on the CPU.
//
// libtorch runs ReLU and the 2x2 pool as two ops over the full conv output,
// and its NCHW pool keeps int64 indices and zero-fills then scatters the
// gradient: on M1 that was about half of a training step. Here one pass reads the
// conv output and writes the pooled values and a byte per output saying which
// input (if any) gets its gradient; the backward pass writes every input
// gradient once. The results equal relu-then-pool bit for bit: pooling first
// picks the same (first) maximum, and the ReLU's gradient mask is folded into
// that byte.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// The byte saying no input of the window gets a gradient: the chosen input
// was <= 0 (the ReLU's zero) or NaN, where ReLU's own backward passes none.
constexpr uint8_t kNoGradient = 255;

// Planes per task, so a task moves ~64 KiB of input whatever the plane size.
int64_t grain(int64_t plane) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, plane)); }

// libtorch's ReLU keeps NaN: !(v <= 0) is true for NaN as for positives.
inline float relu(float v) { return !(v <= 0.0f) ? v : 0.0f; }

// One output row, exactly as max_pool2d(relu(x)) picks, NaN included: the
// first strictly greater value wins and NaN wins. Taken only for rows with a
// NaN (a diverging run), since its data-dependent branches are slow.
void exact_row(const float* top, const float* bottom, float* out, uint8_t* arg, int64_t out_w) {
  for (int64_t ow = 0; ow < out_w; ++ow) {
    const float in[4] = {top[2 * ow], top[2 * ow + 1], bottom[2 * ow], bottom[2 * ow + 1]};
    float best = relu(in[0]);
    uint8_t at = 0;
    for (uint8_t k = 1; k < 4; ++k) {
      const float v = relu(in[k]);
      if (v > best || std::isnan(v)) {
        best = v;
        at = k;
      }
    }
    out[ow] = best;
    // ReLU passes a gradient only where its input was > 0.
    arg[ow] = in[at] > 0.0f ? at : kNoGradient;
  }
}

// One output row, four windows at a time with SSE2 (every x86-64 CPU has it):
// which input of a window wins is a coin toss on real activations, and
// branches on it cost more than the arithmetic. The maximum of the four, then
// the first input equal to it: the same choice as the scan in exact_row when
// there is no NaN. Returns whether the row held a NaN, in which case the
// caller redoes it with exact_row.
bool fast_row(const float* top, const float* bottom, float* out, uint8_t* arg, int64_t out_w) {
  int64_t ow = 0;
  int nan = 0;
#ifdef __SSE2__
  const __m128 zero = _mm_setzero_ps();
  for (; ow + 4 <= out_w; ow += 4) {
    // Eight inputs per row: even ones are the windows' left column, odd the right.
    const __m128 top_lo = _mm_loadu_ps(top + 2 * ow), top_hi = _mm_loadu_ps(top + 2 * ow + 4);
    const __m128 bot_lo = _mm_loadu_ps(bottom + 2 * ow), bot_hi = _mm_loadu_ps(bottom + 2 * ow + 4);
    const __m128 a = _mm_shuffle_ps(top_lo, top_hi, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 b = _mm_shuffle_ps(top_lo, top_hi, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128 c = _mm_shuffle_ps(bot_lo, bot_hi, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 d = _mm_shuffle_ps(bot_lo, bot_hi, _MM_SHUFFLE(3, 1, 3, 1));
    nan |= _mm_movemask_ps(_mm_or_ps(_mm_cmpunord_ps(a, b), _mm_cmpunord_ps(c, d)));
    const __m128 m = _mm_max_ps(_mm_max_ps(a, b), _mm_max_ps(c, d));
    // at = a == m ? 0 : b == m ? 1 : c == m ? 2 : 3, as integer lanes.
    const __m128i is_a = _mm_castps_si128(_mm_cmpeq_ps(a, m));
    const __m128i is_b = _mm_castps_si128(_mm_cmpeq_ps(b, m));
    const __m128i is_c = _mm_castps_si128(_mm_cmpeq_ps(c, m));
    __m128i at = _mm_set1_epi32(3);
    at = _mm_or_si128(_mm_and_si128(is_c, _mm_set1_epi32(2)), _mm_andnot_si128(is_c, at));
    at = _mm_or_si128(_mm_and_si128(is_b, _mm_set1_epi32(1)), _mm_andnot_si128(is_b, at));
    at = _mm_andnot_si128(is_a, at);
    // ReLU: a positive maximum passes, with its gradient; else zero and none.
    const __m128 positive = _mm_cmpgt_ps(m, zero);
    _mm_storeu_ps(out + ow, _mm_and_ps(m, positive));
    const __m128i keep = _mm_castps_si128(positive);
    at = _mm_or_si128(_mm_and_si128(keep, at), _mm_andnot_si128(keep, _mm_set1_epi32(kNoGradient)));
    const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(at, at), _mm_setzero_si128());
    const int32_t four = _mm_cvtsi128_si32(bytes);
    std::memcpy(arg + ow, &four, sizeof four);
  }
#endif
  for (; ow < out_w; ++ow) {
    const float a = top[2 * ow], b = top[2 * ow + 1], c = bottom[2 * ow], d = bottom[2 * ow + 1];
    nan |= (a != a) | (b != b) | (c != c) | (d != d);
    const float ab = a > b ? a : b, cd = c > d ? c : d;
    const float m = ab > cd ? ab : cd;
    const uint8_t at = a == m ? 0 : b == m ? 1 : c == m ? 2 : 3;
    out[ow] = m > 0.0f ? m : 0.0f;
    arg[ow] = m > 0.0f ? at : kNoGradient;
  }
  return nan != 0;
}

void forward_planes(const float* x, float* y, uint8_t* from, int64_t planes, int64_t height,
                    int64_t width) {
  const int64_t out_h = height / 2, out_w = width / 2;
  at::parallel_for(0, planes, grain(height * width), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const float* top = x + p * height * width + (2 * oh) * width;
        const float* bottom = top + width;
        float* out = y + (p * out_h + oh) * out_w;
        uint8_t* arg = from + (p * out_h + oh) * out_w;
        if (fast_row(top, bottom, out, arg, out_w)) exact_row(top, bottom, out, arg, out_w);
      }
    }
  });
}

// One output row's gradient into its two input rows, four windows at a time
// with SSE2: each input gets its window's gradient if it was the one chosen,
// else zero, so no zero-fill is needed first.
void backward_row(const float* g, const uint8_t* arg, float* top, float* bottom, int64_t out_w) {
  int64_t ow = 0;
#ifdef __SSE2__
  const __m128i none = _mm_setzero_si128();
  for (; ow + 4 <= out_w; ow += 4) {
    // + 0.0f: libtorch adds into zeros, which turns -0.0 into +0.0.
    const __m128 v = _mm_add_ps(_mm_loadu_ps(g + ow), _mm_setzero_ps());
    int32_t four;
    std::memcpy(&four, arg + ow, sizeof four);
    const __m128i at = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(four), none), none);
    const auto pick = [&](int k) {
      return _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(at, _mm_set1_epi32(k))), v);
    };
    const __m128 v0 = pick(0), v1 = pick(1), v2 = pick(2), v3 = pick(3);
    _mm_storeu_ps(top + 2 * ow, _mm_unpacklo_ps(v0, v1));
    _mm_storeu_ps(top + 2 * ow + 4, _mm_unpackhi_ps(v0, v1));
    _mm_storeu_ps(bottom + 2 * ow, _mm_unpacklo_ps(v2, v3));
    _mm_storeu_ps(bottom + 2 * ow + 4, _mm_unpackhi_ps(v2, v3));
  }
#endif
  for (; ow < out_w; ++ow) {
    const uint8_t at = arg[ow];
    const float v = g[ow] + 0.0f;
    top[2 * ow] = at == 0 ? v : 0.0f;
    top[2 * ow + 1] = at == 1 ? v : 0.0f;
    bottom[2 * ow] = at == 2 ? v : 0.0f;
    bottom[2 * ow + 1] = at == 3 ? v : 0.0f;
  }
}

void backward_planes(const float* grad_out, const uint8_t* from, float* grad_in, int64_t planes,
                     int64_t height, int64_t width) {
  const int64_t out_h = height / 2, out_w = width / 2;
  at::parallel_for(0, planes, grain(height * width), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* gx = grad_in + p * height * width;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const float* g = grad_out + (p * out_h + oh) * out_w;
        const uint8_t* arg = from + (p * out_h + oh) * out_w;
        float* top = gx + (2 * oh) * width;
        float* bottom = top + width;
        backward_row(g, arg, top, bottom, out_w);
        // An odd width leaves a column no window covers.
        if (width % 2) {
          top[width - 1] = 0.0f;
          bottom[width - 1] = 0.0f;
        }
      }
      // An odd height leaves a row no window covers.
      if (height % 2) {
        std::memset(gx + (height - 1) * width, 0, sizeof(float) * width);
      }
    }
  });
}

struct ReluPool2 : public torch::autograd::Function<ReluPool2> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input) {
    const at::Tensor x = input.contiguous();
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    at::Tensor y = at::empty({n, c, h / 2, w / 2}, x.options());
    at::Tensor from = at::empty({n, c, h / 2, w / 2}, x.options().dtype(at::kByte));
    forward_planes(x.const_data_ptr<float>(), y.mutable_data_ptr<float>(),
                   from.mutable_data_ptr<uint8_t>(), n * c, h, w);
    ctx->save_for_backward({from});
    ctx->saved_data["height"] = h;
    ctx->saved_data["width"] = w;
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const at::Tensor from = ctx->get_saved_variables()[0];
    const at::Tensor grad = grads[0].contiguous();
    const int64_t h = ctx->saved_data["height"].toInt();
    const int64_t w = ctx->saved_data["width"].toInt();
    const int64_t n = from.size(0), c = from.size(1);
    at::Tensor grad_in = at::empty({n, c, h, w}, grad.options());
    backward_planes(grad.const_data_ptr<float>(), from.const_data_ptr<uint8_t>(),
                    grad_in.mutable_data_ptr<float>(), n * c, h, w);
    return {grad_in};
  }
};

char* copy_message(const char* text) {
  const size_t size = std::strlen(text) + 1;
  char* copy = static_cast<char*>(std::malloc(size));
  if (copy != nullptr) std::memcpy(copy, text, size);
  return copy;
}

}  // namespace

// Sets *out to a new tensor, or returns an error message (malloc'd, the
// caller frees it). The caller checks: 4-D, contiguous-able fp32, CPU, H, W >= 2.
extern "C" char* atelier_relu_pool2(const at::Tensor* input, at::Tensor** out) {
  try {
    *out = new at::Tensor(ReluPool2::apply(*input));
    return nullptr;
  } catch (const std::exception& error) {
    return copy_message(error.what());
  }
}
