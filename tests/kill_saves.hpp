// The kill test of atomic saving, shared by the npz writer's tests and the
// models' (save_weights): a child saves over one path without pause and is
// killed (SIGKILL: no cleanup, no destructors) at seeded random moments.
#pragma once

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>

namespace tgtest {

struct KillRounds {
  int child_failed = 0;  // children that ended otherwise than by the kill (a save threw: exit 3)
  int interrupted = 0;   // kills that left a temporary beside the file: they landed inside a save
};

// `rounds` times: forks a child that calls save(i) for i = 0, 1, 2, ... until
// killed; kills it after a seeded random delay of up to four saves (2 to 40
// ms, from `one_save_us`), so that kills land before, inside and between
// saves; then calls after_kill() (which checks the file) and removes the
// temporaries in `dir` whose names start with `temp_prefix`, counting them.
template <class Save, class AfterKill>
KillRounds kill_saves_at_random(const std::string& dir, const std::string& temp_prefix, int rounds,
                                std::uint32_t seed, long one_save_us, Save save, AfterKill after_kill) {
  const long max_delay_us = std::clamp<long>(4 * one_save_us, 2000, 40000);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<long> delay(0, max_delay_us);
  KillRounds result;
  for (int round = 0; round < rounds; ++round) {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (long i = 0;; ++i) {
        try {
          save(i);
        } catch (...) {
          ::_exit(3);
        }
      }
    }
    ::usleep(static_cast<useconds_t>(delay(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) ++result.child_failed;
    after_kill();
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.path().filename().string().rfind(temp_prefix, 0) == 0) {
        ++result.interrupted;
        std::filesystem::remove(entry.path());
      }
  }
  return result;
}

}  // namespace tgtest
