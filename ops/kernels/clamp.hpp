// A clamp that keeps NaN, for the kernels that clamp similarities to [-1, 1].
#pragma once

namespace tg::kernels {

// v clamped to [lo, hi] with a NaN kept as NaN. std::min(hi, std::max(lo, v))
// turns a NaN into lo (std::max(lo, NaN) compares false and returns lo), which
// hides a diverged input behind a finite result. The same cost: compilers emit
// one maxsd/minsd each for these comparisons too.
template <class T>
inline T clamp_keep_nan(T v, T lo, T hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

}  // namespace tg::kernels
