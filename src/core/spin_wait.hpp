#pragma once
/// @file
/// `cpu_relax()`: one round of a busy wait that keeps the core (the x86 PAUSE instruction;
/// elsewhere a yield). Polling loops use it for their first rounds, where a system call
/// (sched_yield, a futex) would cost more than the wait itself: in a virtual machine a
/// system call costs one to two microseconds, as much as a whole small MPI collective.

#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tessera::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace tessera::detail
