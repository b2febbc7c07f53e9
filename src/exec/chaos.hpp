#pragma once
/// @file
/// Schedule perturbation for stress builds. With the CMake option TESSERA_CHAOS, a thread
/// that passes a chaos point sometimes yields its core or sleeps a few microseconds: placed
/// where threads hand work or lifetimes to each other, this turns interleavings that happen
/// once in a million runs into ones that happen every few runs, so that the stress tests
/// (tests/exec/mpi_test_stress.cpp) find such races in seconds. Without the option a chaos
/// point compiles to nothing.

namespace tessera::detail {

#ifdef TESSERA_CHAOS
void chaos_point() noexcept;
#else
inline void chaos_point() noexcept {}
#endif

}  // namespace tessera::detail
