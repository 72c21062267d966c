#pragma once
// The TCP check of the real executor: can a connection to host:port be
// opened within the check's timeout? Internal to smoke/real_executor.cpp.
#include "smoke/check.hpp"
#include "smoke/executor.hpp"

namespace smoke {

// Resolves check.tcp.host (a name, an IPv4 address or an IPv6 address, with
// or without brackets) and tries each address in turn until one accepts.
// Transport::ok on a connect; refused when every address refused or reset;
// dns when the name does not resolve; timeout when the check's timeout ran
// out; error otherwise, with the system's message. The connection is closed
// at once; nothing is sent. Name resolution itself is not bounded by the
// timeout (getaddrinfo cannot be cancelled). Never throws.
Attempt probe_tcp(const Check& check);

} // namespace smoke
