#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include "../support/temp_dir.hpp"
#include "deploy/driver.hpp"
#include "deploy/ssh_remote_script.hpp"
#include "deploy/ssh_session.hpp"
#include "io/process.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using deploy::ssh::quote_command;
using deploy::ssh::quote_word;
using deploy::ssh::Session;
using deploy::ssh::SessionOptions;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Words a remote shell must hand back unchanged.
const std::vector<std::string> k_hostile = {
    "plain",
    "",
    "two words",
    "it's",
    "''",
    "\"double\"",
    "$(touch /tmp/shipgate-quote-pwned)",
    "`id`",
    "$HOME ${PATH}",
    "a;b && c || d | e & f",
    "line one\nline two\n",
    "tab\there",
    "back\\slash\\",
    "glob * ? [a-z]",
    "~root",
    "#not a comment",
    "-n",
    "A=assignment",
    "!history",
    "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80",
    "\x01\x7f raw bytes \xff",
    "'\\''",
};

// Runs `command_line` with `shell` and splits what printf wrote back into words.
std::vector<std::string> words_through(const std::string& shell, const std::string& command_line) {
  io::ProcessSpec spec;
  spec.argv = {shell, "-c", command_line};
  spec.timeout = 10s;
  spec.separate_streams = true;
  const io::ProcessResult result = io::run_process(spec);
  REQUIRE_MESSAGE(result.ok(), (result.error + result.error_output));
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < result.output.size()) {
    const std::size_t end = result.output.find('\0', start);
    REQUIRE(end != std::string::npos);
    words.push_back(result.output.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

std::vector<std::string> shells() {
  std::vector<std::string> found = {"/bin/sh"};
  for (const char* other : {"/bin/dash", "/bin/bash"})
    if (::access(other, X_OK) == 0) found.push_back(other);
  return found;
}

SessionOptions some_options() {
  SessionOptions options;
  options.name = "web01";
  options.address = "10.0.0.2";
  options.port = 2222;
  options.user = "deploy";
  options.identity_file = "/keys/id_ed25519";
  options.known_hosts = "/etc/shipgate/known_hosts";
  options.connect_timeout = 2500ms;
  return options;
}

// The value following `flag` in `argv` for each occurrence ("-o" -> "BatchMode=yes", ...).
std::vector<std::string> values_of(const std::vector<std::string>& argv, const std::string& flag) {
  std::vector<std::string> values;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag) values.push_back(argv[i + 1]);
  return values;
}

bool has(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// A stand-in for ssh: records its arguments, then runs the remote command
// line (its last argument) with /bin/sh, as sshd would with a POSIX login
// shell. "-O" requests find no master; the address "down.invalid" fails
// like an unreachable host.
std::string write_fake_ssh(const test_support::TempDir& dir) {
  std::string path = dir.write("fake-ssh", R"(#!/bin/sh
printf '%s\n' "$@" >>"$0.log"
for last in "$@"; do :; done
for arg in "$@"; do
  case $arg in
    -O) exit 255 ;;
    down.invalid) echo "ssh: connect to host down.invalid port 22: Connection refused" >&2; exit 255 ;;
  esac
done
exec /bin/sh -c "$last"
)");
  fs::permissions(path, fs::perms(0755));
  return path;
}

} // namespace

TEST_CASE("ssh quoting: plain words stay readable, everything else is single-quoted") {
  CHECK(quote_word("deploy") == "deploy");
  CHECK(quote_word("/srv/app/releases/20240101T000000Z-1.2.3") == "/srv/app/releases/20240101T000000Z-1.2.3");
  CHECK(quote_word("") == "''");
  CHECK(quote_word("it's") == "'it'\\''s'");
  CHECK(quote_word("a b") == "'a b'");
  CHECK(quote_word("A=b") == "'A=b'"); // never read as an assignment
  CHECK(quote_word("~") == "'~'");
  CHECK(quote_command({"sh", "-c", "echo $HOME"}) == "sh -c 'echo $HOME'");
  CHECK(quote_command({}).empty());
}

TEST_CASE("ssh quoting: hostile words come back unchanged through a real shell") {
  for (const auto& shell : shells()) {
    CAPTURE(shell);
    CHECK(words_through(shell, "printf '%s\\0' " + quote_command(k_hostile)) == k_hostile);
    for (const auto& word : k_hostile) {
      CAPTURE(word);
      CHECK(words_through(shell, "printf '%s\\0' " + quote_word(word)) == std::vector<std::string>{word});
    }
  }
  CHECK_FALSE(fs::exists("/tmp/shipgate-quote-pwned"));
}

TEST_CASE("ssh quoting: the remote script survives quoting as one word") {
  const std::string& script = deploy::ssh::remote_script();
  REQUIRE(contains(script, "'"));
  REQUIRE(contains(script, "\n"));
  CHECK(words_through("/bin/sh", "printf '%s\\0' " + quote_word(script)) == std::vector<std::string>{script});
}

TEST_CASE("ssh argv: batch mode, strict host keys, one shared master, then -- host command") {
  const Session session(some_options(), 7);
  const auto argv = session.ssh_argv("sh -c 'true'", "/tmp/shipgate-ssh-x/c7");
  REQUIRE(argv.size() > 4);
  CHECK(argv.front() == "ssh");
  const auto options = values_of(argv, "-o");
  CHECK(has(options, "BatchMode=yes"));
  CHECK(has(options, "StrictHostKeyChecking=yes"));
  CHECK(has(options, "UpdateHostKeys=no"));
  CHECK(has(options, "ConnectTimeout=3"));
  CHECK(has(options, "ServerAliveCountMax=3"));
  CHECK(has(options, "ControlMaster=auto"));
  CHECK(has(options, "ControlPath=\"/tmp/shipgate-ssh-x/c7\""));
  CHECK(has(options, "ControlPersist=60"));
  CHECK(has(options, "UserKnownHostsFile=\"/etc/shipgate/known_hosts\""));
  CHECK(has(options, "IdentityFile=\"/keys/id_ed25519\""));
  CHECK(has(options, "IdentitiesOnly=yes"));
  CHECK(has(options, "ForwardAgent=no"));
  CHECK(has(argv, "-T"));
  CHECK(values_of(argv, "-p") == std::vector<std::string>{"2222"});
  CHECK(values_of(argv, "-l") == std::vector<std::string>{"deploy"});
  // Nothing ever accepts an unknown host key or asks for a password.
  for (const auto& word : argv) {
    CHECK_FALSE(contains(word, "accept-new"));
    CHECK_FALSE(contains(word, "StrictHostKeyChecking=no"));
    CHECK_FALSE(contains(word, "Password"));
  }
  REQUIRE(argv.size() >= 3);
  CHECK(argv[argv.size() - 3] == "--");
  CHECK(argv[argv.size() - 2] == "10.0.0.2");
  CHECK(argv.back() == "sh -c 'true'");
  CHECK(session.describe() == "web01 (deploy@10.0.0.2:2222)");
  CHECK(session.key() == "deploy@10.0.0.2:2222");
}

TEST_CASE("ssh argv: defaults left to the ssh configuration, % and spaces in paths kept literal") {
  SessionOptions options;
  options.address = "web02";
  options.known_hosts = "/home/ci/100% sure/known_hosts";
  const Session session(options, 1);
  const auto argv = session.ssh_argv("true", "");
  const auto settings = values_of(argv, "-o");
  CHECK(values_of(argv, "-l").empty());
  CHECK(values_of(argv, "-p") == std::vector<std::string>{"22"});
  CHECK_FALSE(has(settings, "IdentitiesOnly=yes"));
  CHECK(has(settings, "ControlMaster=no")); // no private folder: no sharing, still correct
  CHECK(has(settings, "UserKnownHostsFile=\"/home/ci/100%% sure/known_hosts\""));
  CHECK(session.describe() == "web02 (web02:22)");
  CHECK(session.key() == "web02:22");
}

TEST_CASE("ssh sessions: one per host and options, shared by every caller") {
  auto first = Session::get(some_options());
  auto again = Session::get(some_options());
  CHECK(first.get() == again.get());
  SessionOptions other_user = some_options();
  other_user.user = "root";
  CHECK(Session::get(other_user).get() != first.get());
  SessionOptions other_name = some_options();
  other_name.name = "web01-alias";
  CHECK(Session::get(other_name).get() != first.get());
  SessionOptions other_known_hosts = some_options();
  other_known_hosts.known_hosts = "/elsewhere/known_hosts";
  CHECK(Session::get(other_known_hosts).get() != first.get());
}

TEST_CASE("ssh private folder: 0700, ours, removed by close_ssh_connections") {
  auto dir = deploy::ssh::private_dir();
  REQUIRE(dir.ok());
  struct stat info {};
  REQUIRE(::lstat(dir->c_str(), &info) == 0);
  CHECK(S_ISDIR(info.st_mode));
  CHECK((info.st_mode & 0777) == 0700);
  CHECK(info.st_uid == ::getuid());
  CHECK(dir->string().size() < 70); // room for a control socket name
  deploy::close_ssh_connections();
  CHECK_FALSE(fs::exists(*dir));
}

TEST_CASE("ssh session: the remote command reaches the login shell as quoted words") {
  test_support::TempDir dir;
  SessionOptions options;
  options.address = "web03";
  options.ssh_program = write_fake_ssh(dir);
  Session session(options, 100);
  Session::Request request;
  request.argv = {"printf", "%s\\0"};
  request.argv.insert(request.argv.end(), k_hostile.begin(), k_hostile.end());
  request.timeout = 10s;
  const io::ProcessResult result = session.run(request);
  REQUIRE_MESSAGE(result.ok(), (result.error + result.error_output));
  std::vector<std::string> words;
  for (std::size_t start = 0; start < result.output.size();) {
    const std::size_t end = result.output.find('\0', start);
    REQUIRE(end != std::string::npos);
    words.push_back(result.output.substr(start, end - start));
    start = end + 1;
  }
  CHECK(words == k_hostile);
  CHECK_FALSE(session.connection_error(result, 10s).has_value());
  deploy::close_ssh_connections();
}

TEST_CASE("ssh session: an unreachable host is an error naming it and what to check") {
  test_support::TempDir dir;
  SessionOptions options;
  options.name = "db01";
  options.address = "down.invalid";
  options.known_hosts = dir.file("known_hosts");
  options.ssh_program = write_fake_ssh(dir);
  Session session(options, 101);
  Session::Request request;
  request.argv = {"true"};
  request.timeout = 10s;
  const io::ProcessResult result = session.run(request);
  CHECK(result.exit_code == 255);
  const auto error = session.connection_error(result, 10s);
  REQUIRE(error.has_value());
  CHECK(contains(error->message, "db01"));
  CHECK(contains(error->message, "down.invalid"));
  CHECK(contains(error->message, "Connection refused"));
  CHECK(contains(error->message, "ssh -vvv"));
  CHECK(contains(error->message, dir.file("known_hosts")));

  options.ssh_program = dir.file("no-such-ssh");
  Session missing(options, 102);
  const io::ProcessResult not_started = missing.run(request);
  const auto start_error = missing.connection_error(not_started, 10s);
  REQUIRE(start_error.has_value());
  CHECK(contains(start_error->message, "SHIPGATE_SSH"));
  deploy::close_ssh_connections();
}

TEST_CASE("ssh session: paths ssh cannot take are refused before anything runs") {
  test_support::TempDir dir;
  SessionOptions options;
  options.address = "web04";
  options.identity_file = "/keys/${HOME}/id";
  options.ssh_program = write_fake_ssh(dir);
  Session session(options, 103);
  Session::Request request;
  request.argv = {"true"};
  const io::ProcessResult result = session.run(request);
  CHECK(result.outcome == io::ProcessResult::Outcome::failed_to_start);
  CHECK(contains(result.error, "identity_file"));
  CHECK_FALSE(fs::exists(dir.file("fake-ssh.log")));
}
