#pragma once
// Result types used inside the engine: fallible functions return
// Result<T>; only the CLI layer turns an Error into a message and exit code.
#include <string>
#include <utility>
#include <variant>

#include "core/exit_code.hpp"

namespace core {

enum class ErrorKind { usage, invalid_input, runtime, blocked, interrupted };

struct Error {
  ErrorKind kind = ErrorKind::invalid_input;
  std::string message;  // what was wrong and what to do
  std::string location; // "file:line" when known, else empty

  std::string describe() const { return location.empty() ? message : location + ": " + message; }
};

ExitCode exit_code_for(ErrorKind kind);

inline Error make_error(ErrorKind kind, std::string message, std::string location = {}) {
  return Error{kind, std::move(message), std::move(location)};
}

template <typename T> class Result {
public:
  Result(T value) : m_value(std::move(value)) {}
  Result(Error error) : m_value(std::move(error)) {}
  bool ok() const { return std::holds_alternative<T>(m_value); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(m_value); }
  const T& value() const { return std::get<T>(m_value); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<Error>(m_value); }

private:
  std::variant<T, Error> m_value;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

} // namespace core
