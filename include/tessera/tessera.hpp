#pragma once
/// @file
/// Umbrella header: everything a Tessera program needs.

#include "tessera/array/array.hpp"
#include "tessera/array/creation.hpp"
#include "tessera/array/elementwise.hpp"
#include "tessera/array/random.hpp"
#include "tessera/array/reductions.hpp"
#include "tessera/core/block.hpp"
#include "tessera/core/chunk_grid.hpp"
#include "tessera/core/dtype.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/shape.hpp"
#include "tessera/core/value.hpp"
#include "tessera/exec/scheduler.hpp"
#include "tessera/exec/synchronous_scheduler.hpp"
#include "tessera/exec/threaded_scheduler.hpp"
#include "tessera/graph/expr.hpp"
#include "tessera/graph/lower.hpp"
#include "tessera/graph/task_graph.hpp"
#include "tessera/graph/token.hpp"
