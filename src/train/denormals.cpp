// Subnormal floats flushed to zero on every thread that trains.
//
// x86 CPUs take a microcode assist, tens to hundreds of cycles, for each
// arithmetic operation on a subnormal float (|x| < 1.2e-38). Adam's first
// moment of a weight whose gradient is exactly zero (the MLP's weights from
// pixels that are 0 in every image) decays by 0.9 a step and is subnormal
// after about 800 steps; from then on every update of those weights is slow.
// The flush-to-zero (FTZ) and denormals-are-zero (DAZ) bits of MXCSR are
// per thread, so they are set on the calling thread and on each thread of
// its OpenMP team (the one libtorch's CPU kernels run on); threads created
// later by the calling thread inherit them.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <omp.h>

#ifdef __SSE__
#include <xmmintrin.h>
#endif

namespace {

// MXCSR's FTZ (bit 15) and DAZ (bit 6).
constexpr unsigned kFlushBits = 0x8040;

int team_size() {
  at::internal::lazy_init_num_threads();
  return at::get_num_threads();
}

}  // namespace

// Sets (on != 0) or clears flushing on the calling thread and its OpenMP
// team. Returns how many threads accepted it: 0 where the CPU cannot flush.
extern "C" int atelier_flush_denormals(int on) {
  const int threads = team_size();
  int accepted = 0;
#pragma omp parallel num_threads(threads) reduction(+ : accepted)
  accepted += at::globalContext().setFlushDenormal(on != 0) ? 1 : 0;
  return accepted;
}

// How many threads of the calling thread's OpenMP team (itself included)
// flush subnormals; the team's size goes to *team. -1 where this cannot be
// read (not an x86 CPU).
extern "C" int atelier_denormal_flushing_threads(int* team) {
  const int threads = team_size();
  *team = threads;
#ifdef __SSE__
  int flushing = 0;
#pragma omp parallel num_threads(threads) reduction(+ : flushing)
  flushing += (_mm_getcsr() & kFlushBits) == kFlushBits ? 1 : 0;
  return flushing;
#else
  return -1;
#endif
}

// Whether the calling thread alone flushes subnormals; -1 where unknown.
extern "C" int atelier_denormals_flushed_here() {
#ifdef __SSE__
  return (_mm_getcsr() & kFlushBits) == kFlushBits ? 1 : 0;
#else
  return -1;
#endif
}
