// Reading memory mapped from a file without letting the file kill the process.
//
// A read of a mapped page raises SIGBUS when the file was truncated under the
// mapping or the disk failed to page it in. RunGuarded runs a pure read (a
// checksum, a small copy) so that such a SIGBUS on its own thread returns false
// instead: the caller turns that into an error naming the file. A SIGBUS on a
// thread outside RunGuarded keeps its usual effect (any handler installed
// before, else the default: the process dies).
//
// The contract on `fn`: it only reads memory and computes. It takes no lock,
// allocates nothing, makes no system call and owns nothing with a destructor,
// because a SIGBUS abandons it mid-way (siglongjmp back into RunGuarded).
#pragma once

#include <utility>

namespace as {

bool RunGuardedFn(void (*fn)(void*), void* arg);

template <class F>
bool RunGuarded(F&& f) {
  auto* p = &f;
  return RunGuardedFn([](void* a) { (*static_cast<decltype(p)>(a))(); }, p);
}

}  // namespace as
