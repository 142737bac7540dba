#pragma once
// Float samples to a stored sample type: round to nearest (ties to even, as std::nearbyint in
// the default rounding mode) and clip to the type's range. Movies are stored as int16/uint16,
// so those two have SSE2 paths; the result is the same as the scalar loop.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace apical {

template <typename T> void round_clip(const float* in, size_t n, T* out) {
  static_assert(sizeof(T) <= 4, "64-bit limits are not exact in double: clamping would be wrong");
  if constexpr (std::is_floating_point_v<T>) {
    std::copy(in, in + n, out);
    return;
  } else {
    size_t i = 0;
#ifdef __SSE2__
    if constexpr (std::is_same_v<T, int16_t> || std::is_same_v<T, uint16_t>) {
      // Clamp first (keeps every value inside int32 and the pack exact), then cvtps_epi32,
      // which rounds by MXCSR: nearest-even unless the program changed it, like nearbyint.
      const __m128 lo = _mm_set1_ps(float(std::numeric_limits<T>::lowest()));
      const __m128 hi = _mm_set1_ps(float(std::numeric_limits<T>::max()));
      for (; i + 8 <= n; i += 8) {
        __m128i a = _mm_cvtps_epi32(_mm_min_ps(_mm_max_ps(_mm_loadu_ps(in + i), lo), hi));
        __m128i b = _mm_cvtps_epi32(_mm_min_ps(_mm_max_ps(_mm_loadu_ps(in + i + 4), lo), hi));
        __m128i packed;
        if constexpr (std::is_same_v<T, int16_t>) {
          packed = _mm_packs_epi32(a, b);
        } else {  // uint16 without SSE4.1: shift into the int16 range, pack, shift back
          const __m128i bias = _mm_set1_epi32(32768);
          packed = _mm_xor_si128(_mm_packs_epi32(_mm_sub_epi32(a, bias), _mm_sub_epi32(b, bias)),
                                 _mm_set1_epi16(int16_t(0x8000)));
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), packed);
      }
    }
#endif
    // double: the limits of 32-bit types are not all representable as float.
    constexpr double lo = double(std::numeric_limits<T>::lowest()), hi = double(std::numeric_limits<T>::max());
    for (; i < n; ++i) out[i] = T(std::clamp(std::nearbyint(double(in[i])), lo, hi));
  }
}

}  // namespace apical
