// save_npz refusing bad arguments, and saves that fail or are killed midway:
// the old file is always left whole.
#include <sys/socket.h>
#include <sys/un.h>

#include "child_process.hpp"
#include "kill_saves.hpp"
#include "npz_test_support.hpp"

using namespace npz_test;

namespace {

// save_npz(path, reference_arrays()) as the user 'nobody' (uid 65534) in a
// forked child, since root writes anywhere: what it threw ("" if it saved),
// or "skipped: ..." when running as root without the right to drop privileges.
std::string save_error_as_nobody(const std::string& path) {
  const tgtest::ChildOutcome outcome = tgtest::run_in_child(
      [&] {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0))
          throw std::runtime_error("skipped: running as root and cannot drop privileges");
        tg::io::save_npz(path, reference_arrays());
      },
      30);
  REQUIRE_MESSAGE(outcome.returned, "the saving child " << outcome.ended);
  return outcome.error;
}

}  // namespace

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
  // Names are stored as UTF-8 (flag bit 11), and numpy.load fails on a flagged
  // name that does not decode ("'utf-8' codec can't decode byte 0xe9"): refused.
  std::string message = message_of({{"caf\xe9", x}});
  CHECK(contains(message, "save_npz: " + path + ": the array name 'caf\\xe9' is not valid UTF-8 (byte 4)"));
  for (const char* bad : {"\xff", "a\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
                          "\xc3\xa9\x80"}) {
    CAPTURE(bad);
    CHECK(contains(message_of({{bad, x}}), "is not valid UTF-8"));
  }
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
  const std::string error = save_error_as_nobody(path);
  if (contains(error, "skipped:")) {
    MESSAGE(error << " to test an unwritable directory");
  } else {
    CHECK(contains(error, "save_npz: " + path));
    CHECK(contains(error, "Permission denied"));
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

// ---- what is at the path: links, read-only files, special files ------------------

namespace {

// The error message of saving `arrays` to `path`; fails the test if it saves.
std::string save_error(const std::string& path, const NamedArrays& arrays) {
  try {
    tg::io::save_npz(path, arrays);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("save_npz(" << path << ") did not throw std::runtime_error");
  return "";
}

bool is_symlink(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

}  // namespace

TEST_CASE("npz: saving through a symbolic link replaces the link's final target, and the links stay") {
  // numpy.savez opens the path, which follows the links; an atomic save renames
  // over the final target, so the link (and any chain of links) is kept.
  TempDir dir;
  fs::create_directory(dir.file("real"));
  const std::string target = dir.file("real/w.npz");
  tg::io::save_npz(target, small_arrays());
  // link -> chain (relative, same directory) -> real/w.npz (relative, another directory)
  fs::create_symlink("real/w.npz", dir.file("chain"));
  fs::create_symlink("chain", dir.file("link.npz"));
  tg::io::save_npz(dir.file("link.npz"), reference_arrays());
  CHECK(is_symlink(dir.file("link.npz")));
  CHECK(is_symlink(dir.file("chain")));
  CHECK(fs::read_symlink(dir.file("link.npz")) == "chain");
  check_same(tg::io::load_npz(target), reference_arrays());
  // The temporary lived beside the target (a rename cannot cross directories) and is gone.
  CHECK(names_starting_with(dir.file("real"), "w.npz.tmp").empty());
  CHECK(names_starting_with(dir.path(), "link.npz.tmp").empty());
  CHECK(names_starting_with(dir.path(), "chain.tmp").empty());

  SUBCASE("a link to a file that does not exist yet creates the file, as numpy does") {
    fs::create_symlink("real/new.npz", dir.file("dangling.npz"));
    tg::io::save_npz(dir.file("dangling.npz"), small_arrays());
    CHECK(is_symlink(dir.file("dangling.npz")));
    check_same(tg::io::load_npz(dir.file("real/new.npz")), small_arrays());
  }
  SUBCASE("a link to a directory and a loop of links are refused") {
    fs::create_directory_symlink("real", dir.file("to_dir.npz"));
    CHECK(contains(save_error(dir.file("to_dir.npz"), small_arrays()), "is a directory"));
    CHECK(is_symlink(dir.file("to_dir.npz")));
    fs::create_symlink("loop_b", dir.file("loop_a"));
    fs::create_symlink("loop_a", dir.file("loop_b"));
    std::string message = save_error(dir.file("loop_a"), small_arrays());
    CHECK(contains(message, "save_npz: " + dir.file("loop_a")));
    CHECK(contains(message, "symbolic links"));
    CHECK(is_symlink(dir.file("loop_a")));
  }
}

TEST_CASE("npz: a file without write permission is refused, as numpy refuses to open it, and kept") {
  // Root may write any file (open() would let numpy.savez do it), so the rule
  // is tested as an ordinary user: as root, a forked child drops to 'nobody'
  // (uid 65534) and the directory and file are given to it.
  TempDir dir;
  const std::string open_dir = dir.file("mine");
  fs::create_directory(open_dir);
  const std::string path = open_dir + "/w.npz";
  tg::io::save_npz(path, small_arrays());
  const std::string before = read_bytes(path);
  ::chmod(path.c_str(), 0444);
  const bool root = ::geteuid() == 0;
  if (root) {
    ::chmod(dir.path().c_str(), 0755);  // let 'nobody' reach the directory
    if (::chown(open_dir.c_str(), 65534, 65534) != 0 || ::chown(path.c_str(), 65534, 65534) != 0) {
      MESSAGE("skipped: running as root and cannot give the files to uid 65534 (unmapped in a user namespace?)");
      return;
    }
  }
  const std::string error = save_error_as_nobody(path);
  if (contains(error, "skipped:")) {
    MESSAGE(error << " to test a read-only file");
  } else {
    CHECK(contains(error, "save_npz: " + path));
    CHECK(contains(error, "no write permission"));
    CHECK(contains(error, "Permission denied"));
    CHECK(contains(error, "chmod u+w"));
  }
  CHECK(read_bytes(path) == before);
  CHECK(names_starting_with(open_dir, "w.npz.tmp").empty());

  SUBCASE("root replaces a read-only file (as open() lets it), keeping its mode, owner and group") {
    if (!root) {
      MESSAGE("skipped: not running as root");
      return;
    }
    tg::io::save_npz(path, reference_arrays());
    check_same(tg::io::load_npz(path), reference_arrays());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0444);
    CHECK(st.st_uid == 65534);
    CHECK(st.st_gid == 65534);
  }
}

TEST_CASE("npz: a FIFO, a device, a socket or a directory at the path is refused and left as it was") {
  TempDir dir;
  const std::string fifo = dir.file("fifo.npz");
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  std::string message = save_error(fifo, small_arrays());
  CHECK(contains(message, "save_npz: " + fifo + ": "));
  CHECK(contains(message, "is a FIFO"));
  CHECK(contains(message, "not a regular file"));
  CHECK(fs::is_fifo(fifo));

  // A device, reached through a link so that no test can touch /dev/null itself.
  fs::create_symlink("/dev/null", dir.file("null.npz"));
  message = save_error(dir.file("null.npz"), small_arrays());
  CHECK(contains(message, "is a character device"));
  CHECK(is_symlink(dir.file("null.npz")));

  const std::string socket_path = dir.file("sock.npz");
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof address.sun_path);
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  message = save_error(socket_path, small_arrays());
  ::close(sock);
  CHECK(contains(message, "is a socket"));
  CHECK(fs::is_socket(socket_path));
  CHECK(names_starting_with(dir.path(), "fifo.npz.tmp").empty());
  CHECK(names_starting_with(dir.path(), "sock.npz.tmp").empty());
}

TEST_CASE("npz: every legal file name saves: the temporary's name is kept within NAME_MAX") {
  // Linux allows 255 bytes per name; the temporary beside the target must fit
  // too, so a long target name is shortened in it (hashed, and cut on a UTF-8
  // character boundary).
  TempDir dir;
  std::string cjk;  // 85 characters of 3 bytes: 255 bytes
  for (int i = 0; i < 85; ++i) cjk += "\xe4\xb8\xad";
  for (const std::string& name : {std::string(250, 'w'), std::string(251, 'w') + ".npz", cjk}) {
    CAPTURE(name.size());
    tg::io::save_npz(dir.file(name), small_arrays());
    check_same(tg::io::load_npz(dir.file(name)), small_arrays());
    tg::io::save_npz(dir.file(name), reference_arrays());  // replacing it too
    check_same(tg::io::load_npz(dir.file(name)), reference_arrays());
  }
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 3);  // no temporaries

  // One byte more is not a legal name: the message says so, not that the directory is at fault.
  const std::string too_long = dir.file(std::string(256, 'w'));
  std::string message = save_error(too_long, small_arrays());
  CHECK(contains(message, "save_npz: " + too_long));
  CHECK(contains(message, "256 bytes"));
  CHECK(contains(message, "255"));
  CHECK(!contains(message, "directory"));
}

namespace {

// Saves `arrays` to `path` in a child that the kernel kills mid-write
// (SIGXFSZ at a 4 KiB file size limit: no cleanup, as with SIGKILL), and
// returns the child's pid; its temporary file is left beside `path`.
pid_t killed_save(const std::string& path, const NamedArrays& arrays) {
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_DFL);
    struct rlimit limit = {4096, 4096};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(4);
    try {
      tg::io::save_npz(path, arrays);
    } catch (...) {
    }
    ::_exit(1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGXFSZ);
  return child;
}

std::vector<std::string> all_names(const std::string& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("npz: a killed save's temporary is removed by the next save of the same file, and nothing else") {
  // The temporary of a save is TARGET.tmp-HOST-PID-RANDOM (HOST: 8 hex digits
  // of a hash of the host name). The next save of TARGET removes those whose
  // writer is gone (HOST is this machine and PID is not running) or that were
  // not touched for 24 hours; any other file is kept.
  TempDir dir;
  const std::string path = dir.file("w.npz");
  const NamedArrays big = {{"big", tg::ones({64, 64})}};
  tg::io::save_npz(path, small_arrays());
  const pid_t dead = killed_save(path, big);
  std::vector<std::string> left = names_starting_with(dir.path(), "w.npz.tmp-");
  REQUIRE(left.size() == 1);
  const std::string temporary = left[0];
  // HOST-PID-RANDOM after the prefix.
  const std::string tail = temporary.substr(std::string("w.npz.tmp-").size());
  const std::size_t dash1 = tail.find('-'), dash2 = tail.find('-', dash1 + 1);
  REQUIRE(dash2 != std::string::npos);
  const std::string host = tail.substr(0, dash1), random = tail.substr(dash2 + 1);
  CHECK(host.size() == 8);
  CHECK(tail.substr(dash1 + 1, dash2 - dash1 - 1) == std::to_string(dead));
  CHECK(random.size() == 12);
  check_same(tg::io::load_npz(path), small_arrays());  // the kill left the old file

  const std::string other_host = host == "00000000" ? "11111111" : "00000000";
  const std::vector<std::string> kept = {
      "other.npz.tmp-" + tail,                                                       // another file's
      "w.npz.tmp-" + host + "-" + std::to_string(::getpid()) + "-" + random,        // a running writer
      "w.npz.tmp-" + other_host + "-" + std::to_string(dead) + "-" + random,        // another machine's, fresh
      "w.npz.tmp-notes",                                                             // not the pattern
      "w.npz.tmp-" + host + "-" + std::to_string(dead) + "-" + random + "x",        // not the pattern
      "w.npz.tmp-" + host + "-" + std::to_string(dead) + "-0123456789ab",           // a directory
      "w.npz.tmp-" + host + "-" + std::to_string(dead) + "-ba9876543210",           // a symbolic link
  };
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i == 5) fs::create_directory(dir.file(kept[i]));
    else if (i == 6) fs::create_symlink("other.npz.tmp-" + tail, dir.file(kept[i]));
    else write_bytes(dir.file(kept[i]), "keep");
  }
  // Another machine's temporary untouched for two days is stale.
  const std::string old_one = "w.npz.tmp-" + other_host + "-" + std::to_string(dead) + "-aaaaaaaaaaaa";
  write_bytes(dir.file(old_one), "old");
  struct timespec two_days_ago[2] = {{std::time(nullptr) - 2 * 86400, 0}, {std::time(nullptr) - 2 * 86400, 0}};
  REQUIRE(::utimensat(AT_FDCWD, dir.file(old_one).c_str(), two_days_ago, 0) == 0);

  tg::io::save_npz(path, reference_arrays());
  check_same(tg::io::load_npz(path), reference_arrays());
  std::vector<std::string> want = kept;
  want.push_back("w.npz");
  std::sort(want.begin(), want.end());
  CHECK(all_names(dir.path()) == want);  // the killed save's and the old temporary are gone
  for (std::size_t i = 0; i < kept.size(); ++i)
    if (i != 5 && i != 6) CHECK(read_bytes(dir.file(kept[i])) == "keep");

  SUBCASE("a long name's shortened temporary is found and removed too") {
    const std::string long_path = dir.file(std::string(251, 'L') + ".npz");
    tg::io::save_npz(long_path, small_arrays());
    const std::vector<std::string> before = all_names(dir.path());
    killed_save(long_path, big);
    std::vector<std::string> after = all_names(dir.path());
    REQUIRE(after.size() == before.size() + 1);  // the killed save's temporary
    tg::io::save_npz(long_path, reference_arrays());
    CHECK(all_names(dir.path()) == before);
    check_same(tg::io::load_npz(long_path), reference_arrays());
  }
}
