// save_npz refusing bad arguments, and saves that fail or are killed midway:
// the old file is always left whole.
#include "kill_saves.hpp"
#include "npz_test_support.hpp"

using namespace npz_test;

// ---- saving: bad arguments and failures leave the old file -----------------------

TEST_CASE("npz: save_npz refuses bad names and undefined tensors, and leaves the old file") {
  TempDir dir;
  const std::string path = dir.file("w.npz");
  tg::io::save_npz(path, small_arrays());
  const std::string before = read_bytes(path);
  auto message_of = [&](const NamedArrays& arrays) {
    try {
      tg::io::save_npz(path, arrays);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    FAIL("save_npz did not throw std::invalid_argument");
    return std::string();
  };
  Tensor x = tg::zeros({2});
  CHECK(contains(message_of({{"a", x}, {"a", x}}), "save_npz: " + path + ": the array name 'a' appears twice"));
  CHECK(contains(message_of({{"", x}}), "an array name is empty"));
  CHECK(contains(message_of({{std::string("a\0b", 3), x}}), "contains a NUL byte"));
  CHECK(contains(message_of({{"a", Tensor()}}), "the array 'a' is an undefined tensor"));
  CHECK(contains(message_of({{std::string(70000, 'n'), x}}), "longer than a zip archive allows"));
  CHECK(read_bytes(path) == before);
  CHECK(names_starting_with(dir.path(), "w.npz.").empty());
}

TEST_CASE("npz: saving into a missing directory or over a directory fails clearly and changes nothing") {
  TempDir dir;
  std::string missing = dir.file("no/such/dir/w.npz");
  try {
    tg::io::save_npz(missing, small_arrays());
    FAIL("saving into a missing directory did not throw");
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    CHECK(contains(message, "save_npz: " + missing));
    CHECK(contains(message, "No such file or directory"));
    CHECK(contains(message, "does the directory exist?"));
  }
  CHECK(!fs::exists(dir.file("no")));

  fs::create_directory(dir.file("weights.npz"));
  write_bytes(dir.file("weights.npz/keep"), "keep");
  try {
    tg::io::save_npz(dir.file("weights.npz"), small_arrays());
    FAIL("saving over a directory did not throw");
  } catch (const std::runtime_error& e) {
    CHECK(contains(e.what(), dir.file("weights.npz") + ": is a directory"));
  }
  CHECK(read_bytes(dir.file("weights.npz/keep")) == "keep");
  CHECK(names_starting_with(dir.path(), "weights.npz.tmp").empty());
}

TEST_CASE("npz: a save into an unwritable directory fails clearly and leaves the old file") {
  TempDir dir;
  const std::string locked = dir.file("locked");
  fs::create_directory(locked);
  const std::string path = locked + "/w.npz";
  tg::io::save_npz(path, small_arrays());
  const std::string before = read_bytes(path);
  ::chmod(locked.c_str(), 0555);
  // root writes anywhere: the saving child then drops to the user 'nobody'.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(4);
    try {
      tg::io::save_npz(path, reference_arrays());
      ::_exit(1);
    } catch (const std::runtime_error& e) {
      ::_exit(contains(e.what(), "save_npz: " + path) && contains(e.what(), "Permission denied") ? 0 : 2);
    } catch (...) {
      ::_exit(3);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 4) {
    MESSAGE("skipped: running as root and cannot drop privileges to test an unwritable directory");
  } else {
    CHECK(WEXITSTATUS(status) == 0);  // 1: it saved, 2: the message, 3: the wrong exception
  }
  CHECK(read_bytes(path) == before);
  CHECK(names_starting_with(locked, "w.npz.").empty());
}

TEST_CASE("npz: a write that fails midway (file size limit) removes the temporary and leaves the old file") {
  TempDir dir;
  const std::string path = dir.file("w.npz");
  tg::io::save_npz(path, small_arrays());
  const std::string before = read_bytes(path);
  ::chmod(path.c_str(), 0640);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Writes beyond 4 KiB now fail with EFBIG in the middle of the array data.
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {4096, 4096};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(4);
    try {
      tg::io::save_npz(path, {{"big", tg::ones({64, 64})}});
      ::_exit(1);
    } catch (const std::runtime_error& e) {
      ::_exit(contains(e.what(), "save_npz: " + path) && contains(e.what(), "File too large") ? 0 : 2);
    } catch (...) {
      ::_exit(3);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // 1: it saved, 2: the message, 3: the wrong exception, 4: no rlimit
  CHECK(read_bytes(path) == before);
  CHECK(names_starting_with(dir.path(), "w.npz.").empty());

  SUBCASE("a successful save keeps the replaced file's permissions") {
    tg::io::save_npz(path, reference_arrays());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
  }
}

TEST_CASE("npz: a save killed at random moments leaves the old or the new file, complete") {
  // A child saves B, A, B, A, ... over the same path without pause; the parent
  // kills it (SIGKILL, no cleanup) after a seeded random delay, 50 times, and
  // each time the file on disk must be exactly A or exactly B.
  TempDir dir;
  auto make = [](float value) {
    return NamedArrays{{"dense/kernel", tg::full({256, 256}, value)}, {"dense/bias", tg::full({256}, -value)}};
  };
  const NamedArrays a = make(1.0f), b = make(2.0f);
  tg::io::save_npz(dir.file("a.npz"), a);
  tg::io::save_npz(dir.file("b.npz"), b);
  const std::string bytes_a = read_bytes(dir.file("a.npz")), bytes_b = read_bytes(dir.file("b.npz"));
  REQUIRE(bytes_a != bytes_b);

  const std::string path = dir.file("weights.npz");
  auto start = std::chrono::steady_clock::now();
  tg::io::save_npz(path, a);
  auto one_save_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  int saw_a = 0, saw_b = 0, neither = 0;
  const tgtest::KillRounds kills = tgtest::kill_saves_at_random(
      dir.path(), "weights.npz.tmp-", 50, 20240607, one_save_us,
      [&](long i) { tg::io::save_npz(path, i % 2 == 0 ? b : a); },
      [&] {
        const std::string on_disk = read_bytes(path);
        NamedArrays loaded;
        Outcome outcome = outcome_of([&] { return tg::io::load_npz(path); }, &loaded);
        if (on_disk == bytes_a && outcome == Outcome::loaded && same_arrays(loaded, a)) ++saw_a;
        else if (on_disk == bytes_b && outcome == Outcome::loaded && same_arrays(loaded, b)) ++saw_b;
        else ++neither;
      });
  MESSAGE("kill test: one save takes " << one_save_us << " us; after 50 kills the file was A " << saw_a << " times, B "
                                       << saw_b << " times; " << kills.interrupted << " kills interrupted a save");
  CHECK(neither == 0);
  CHECK(kills.child_failed == 0);
  // Otherwise the test proved nothing: kills must have landed inside saves, and
  // saves must have completed.
  CHECK(kills.interrupted > 0);
  CHECK(saw_b > 0);
}
