#include "base/guarded.h"

#include <csetjmp>
#include <csignal>
#include <mutex>

namespace as {

namespace {

// The recovery point of the guarded read running on this thread, if any.
// Initial-exec TLS (the library is linked statically): safe to read in a
// signal handler.
thread_local sigjmp_buf* tl_recover = nullptr;
struct sigaction g_previous;

void OnSigbus(int sig, siginfo_t* info, void* ctx) {
  if (sigjmp_buf* j = tl_recover) {
    tl_recover = nullptr;
    siglongjmp(*j, 1);
  }
  // Not a guarded read: behave as if this handler were not installed.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) return g_previous.sa_sigaction(sig, info, ctx);
  } else if (g_previous.sa_handler == SIG_IGN) {
    return;
  } else if (g_previous.sa_handler != SIG_DFL) {
    return g_previous.sa_handler(sig);
  }
  std::signal(SIGBUS, SIG_DFL);
  std::raise(SIGBUS);
}

void InstallOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnSigbus;
    // SA_NODEFER: the handler leaves by siglongjmp without restoring a signal
    // mask, so SIGBUS must not be blocked while it runs (sigsetjmp then needs
    // no mask save, which would cost a system call per guarded read).
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &g_previous);
  });
}

}  // namespace

bool RunGuardedFn(void (*fn)(void*), void* arg) {
  InstallOnce();
  sigjmp_buf recover;
  // Nothing local is read after a jump back, so nothing needs volatile.
  if (sigsetjmp(recover, 0) != 0) return false;
  tl_recover = &recover;
  fn(arg);
  tl_recover = nullptr;
  return true;
}

}  // namespace as
