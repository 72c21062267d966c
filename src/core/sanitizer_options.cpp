// Defaults of a sanitizer build (-DSHIPGATE_SANITIZE=ON or SHIPGATE_FUZZ):
// a memory error, a leak or undefined behaviour ends shipgate with exit code
// 86, which no step uses (docs/exit-codes.md), so a test that expects a
// step's own failure (1, 3, ...) cannot mistake a sanitizer report for it.
// ASAN_OPTIONS / UBSAN_OPTIONS in the environment still override these.
// Linked into the executable itself: the runtime's weak defaults would win
// over a copy in the static library.
#ifdef SHIPGATE_SANITIZED
extern "C" {
const char* __asan_default_options() { return "exitcode=86"; }
const char* __ubsan_default_options() { return "exitcode=86:print_stacktrace=1:halt_on_error=1"; }
const char* __lsan_default_options() { return "exitcode=86"; }
}
#endif
