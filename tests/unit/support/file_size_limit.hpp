#pragma once
// A write error in the middle of a file, as a full disk gives, without
// mounting one: while a FileSizeLimit lives, this process (and every child
// it starts) cannot make a regular file larger than `bytes`; the write that
// would fails with EFBIG ("File too large"). SIGXFSZ, which would end the
// process instead, is ignored meanwhile. The limit is restored on
// destruction, so keep the object's scope to the call under test.
#include <csignal>

#include <sys/resource.h>

namespace test_support {

class FileSizeLimit {
public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &m_saved);
    m_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = m_saved;
    limit.rlim_cur = bytes < m_saved.rlim_max ? bytes : m_saved.rlim_max;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &m_saved);
    std::signal(SIGXFSZ, m_handler);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

private:
  rlimit m_saved{};
  void (*m_handler)(int) = SIG_DFL;
};

} // namespace test_support
