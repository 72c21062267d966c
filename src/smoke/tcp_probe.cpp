#include "smoke/tcp_probe.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace smoke {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct AddressListDeleter {
  void operator()(addrinfo* list) const { freeaddrinfo(list); }
};
using AddressList = std::unique_ptr<addrinfo, AddressListDeleter>;

class Socket {
public:
  explicit Socket(int fd) : m_fd(fd) {}
  ~Socket() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return m_fd; }

private:
  int m_fd;
};

struct Outcome {
  Transport transport = Transport::ok;
  std::string error;
};

Outcome from_errno(int error, const std::string& target) {
  const Transport transport = (error == ECONNREFUSED || error == ECONNRESET) ? Transport::refused
                              : error == ETIMEDOUT                           ? Transport::timeout
                                                                             : Transport::error;
  return {transport, "connect to " + target + " failed: " + std::strerror(error)};
}

std::string strip_brackets(const std::string& host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

// Waits for the non-blocking connect to finish, retrying poll after a signal.
Outcome wait_connected(int fd, SteadyClock::time_point deadline, const std::string& target) {
  for (;;) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - SteadyClock::now()).count();
    if (left <= 0) return {Transport::timeout, "connect to " + target + " timed out"};
    pollfd entry{fd, POLLOUT, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return from_errno(errno, target);
    if (ready == 0) return {Transport::timeout, "connect to " + target + " timed out"};
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return from_errno(errno, target);
    return error == 0 ? Outcome{} : from_errno(error, target);
  }
}

Outcome connect_one(const addrinfo& address, SteadyClock::time_point deadline, const std::string& target) {
  // CLOEXEC: a command check started meanwhile must not inherit the socket.
  const Socket socket(
      ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address.ai_protocol));
  if (socket.fd() < 0) return from_errno(errno, target);
  if (::connect(socket.fd(), address.ai_addr, address.ai_addrlen) == 0) return {};
  if (errno != EINPROGRESS) return from_errno(errno, target);
  return wait_connected(socket.fd(), deadline, target);
}

Outcome resolve(const std::string& host, int port, AddressList& list) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV; // no AI_ADDRCONFIG: it hides 127.0.0.1 on a host with only loopback
  addrinfo* found = nullptr;
  const int status = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  list.reset(found);
  if (status == 0) return {};
  const bool dns = status == EAI_NONAME || status == EAI_AGAIN || status == EAI_FAIL || status == EAI_NODATA;
  const std::string reason = status == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(status);
  return {dns ? Transport::dns : Transport::error, "cannot resolve host \"" + host + "\": " + reason};
}

Outcome probe(const TcpCheck& tcp, SteadyClock::time_point deadline) {
  if (tcp.port < 1 || tcp.port > 65535)
    return {Transport::error, "port " + std::to_string(tcp.port) + " is out of range"};
  const std::string host = strip_brackets(tcp.host);
  AddressList list;
  if (Outcome resolved = resolve(host, tcp.port, list); resolved.transport != Transport::ok) return resolved;
  const std::string target = tcp.host + ":" + std::to_string(tcp.port);
  Outcome last{Transport::error, "no address found for " + target};
  for (const addrinfo* address = list.get(); address; address = address->ai_next) {
    last = connect_one(*address, deadline, target);
    if (last.transport == Transport::ok || last.transport == Transport::timeout) break;
  }
  return last;
}

} // namespace

Attempt probe_tcp(const Check& check) {
  const auto start = SteadyClock::now();
  Outcome outcome = probe(check.tcp, start + check.timeout);
  Attempt attempt;
  attempt.transport = outcome.transport;
  attempt.error = std::move(outcome.error);
  attempt.elapsed = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
  return attempt;
}

} // namespace smoke
