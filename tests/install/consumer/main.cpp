// A user's program against the installed package: arrays, a reduction, matmul and a QR, each
// checked against what it must give. Exits 0 when all agree.
#include <cmath>
#include <cstdio>

#include "tessera/tessera.hpp"

int main(int argc, char** argv) {
  tessera::Runtime runtime(argc, argv);
  using namespace tessera;
  const Array x = reshape(arange(12, {.chunks = 5}).astype(DType::Float64), {4, 3});  // 0..11
  const double total = x.sum().item<double>();
  const double gram = matmul(transpose(x), x).sum().item<double>();
  const auto [q, r] = linalg::qr(x);
  const double rebuilt = abs(matmul(q, r) - x).max().item<double>();
  // sum of x^T x = sum_{j,k} sum_i x_ij x_ik = sum_i (sum_j x_ij)^2 = 3^2 + 12^2 + 21^2 + 30^2 =
  // 1494.
  const bool ok = total == 66 && gram == 1494 && rebuilt < 1e-12;
  if (runtime.rank() == 0) {
    std::printf("consumer: sum %g, sum of x^T x %g, |QR - x| %.2g: %s\n", total, gram, rebuilt,
                ok ? "ok" : "WRONG");
  }
  return ok ? 0 : 1;
}
