// Preloaded (LD_PRELOAD) into the MPI tests of the asan build: dlclose() does nothing, so a
// shared object, once loaded, stays mapped until the process ends.
//
// Why: MPI_Finalize unloads Open MPI's components (mca_*.so, PMIx's and hwloc's plugins)
// before LeakSanitizer looks for leaks at exit. Memory that those components still point to
// from their globals then looks leaked (about 3,300 "leaks" per rank for MPI_Init + a few
// calls + MPI_Finalize, in Open MPI 4.1.4), and the frames of its allocation stacks show as
// "<unknown module>", which no suppression can name. With the components kept loaded, what
// remains is a handful of Open MPI's real, named leaks (tests/sanitizers/lsan.supp).
//
// Built without sanitizers: mpiexec, which is not instrumented, loads it too.
extern "C" int dlclose(void* /*handle*/) { return 0; }
