// This instruction set's KernelSet (see functions.hpp).

#include "kernels/per_isa/functions.hpp"

namespace tessera::detail::TESSERA_ISA_NAMESPACE {

extern const KernelSet kernel_set;
const KernelSet kernel_set = {
    .isa = Isa::TESSERA_ISA_ENUM,
    .name = TESSERA_ISA_NAME,
    .binary = binary,
    .unary = unary,
    .cast = cast,
    .where = where,
    .clip = clip,
    .chain = chain,
    .chain_affine = chain_affine,
    .sum_f64 = sum_f64,
    .sum_f32 = sum_f32,
    .sum_squared_deviations_f64 = sum_squared_deviations_f64,
    .sum_squared_deviations_f32 = sum_squared_deviations_f32,
    .min_f64 = min_f64,
    .max_f64 = max_f64,
    .min_f32 = min_f32,
    .max_f32 = max_f32,
    .philox4x32_10 = philox4x32_10,
    .random_word = random_word,
    .random_words = random_words,
    .random_uniform_f64 = random_uniform_f64,
    .random_uniform_f32 = random_uniform_f32,
    .random_normal_f64 = random_normal_f64,
    .random_normal_f32 = random_normal_f32,
    .random_integers_i64 = random_integers_i64,
    .random_integers_i32 = random_integers_i32,
};

}  // namespace tessera::detail::TESSERA_ISA_NAMESPACE
