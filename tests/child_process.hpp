// Running a call in a forked child, for tests of calls that might block, never
// end or exhaust the memory: the child has an alarm, so a call that blocks (a
// FIFO) or never ends (/dev/zero) fails the test instead of hanging the suite;
// with `extra_address_space` its address space is capped at its current size
// plus that many bytes, so a read without bound fails fast instead of eating
// the machine's memory, and an allocation a file's size does not justify shows
// as std::bad_alloc. (No cap under AddressSanitizer, whose shadow memory needs
// the address space.)
#pragma once

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <string>

#include "op_checks.hpp"

namespace tgtest {

// How a call run in a forked child ended.
struct ChildOutcome {
  bool returned = false;  // false: killed (by the alarm: the call blocked) or crashed
  std::string error;      // what the call threw, "" if nothing
  std::string ended;      // how the child ended, for messages
};

#if defined(__SANITIZE_ADDRESS__)  // gcc
inline constexpr bool address_sanitizer = true;
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer)
inline constexpr bool address_sanitizer = true;
#else
inline constexpr bool address_sanitizer = false;
#endif
#else
inline constexpr bool address_sanitizer = false;
#endif

// The address space this process uses (VmSize), in bytes; 0 if unknown.
inline std::uint64_t address_space_in_use() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;  // "VmSize:  123456 kB"
  return 0;
}

// The outcome of call() run in a forked child with an alarm of `seconds`.
template <class F>
inline ChildOutcome run_in_child(F&& call, unsigned seconds, std::uint64_t extra_address_space = 0) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::alarm(seconds);
    if (extra_address_space > 0 && !address_sanitizer) {
      const rlim_t cap = address_space_in_use() + extra_address_space;
      struct rlimit limit = {cap, cap};
      if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(3);
    }
    const std::string message = tgtest::error_of(call);
    const char* data = message.data();
    std::size_t left = message.size();
    while (left > 0) {
      const ssize_t wrote = ::write(pipe_fds[1], data, left);
      if (wrote <= 0) ::_exit(2);
      data += wrote, left -= static_cast<std::size_t>(wrote);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  ChildOutcome outcome;
  char buffer[4096];
  for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) break;
    outcome.error.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  outcome.returned = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (WIFSIGNALED(status))
    outcome.ended = "killed by signal " + std::to_string(WTERMSIG(status)) +
                    (WTERMSIG(status) == SIGALRM ? " (the alarm: the call did not return)" : "");
  else
    outcome.ended = "exited with status " + std::to_string(WEXITSTATUS(status));
  return outcome;
}

}  // namespace tgtest
