// .npz files that are bad in every way a file can be (missing, empty,
// truncated at each byte, any byte flipped, corrupt, unsupported): each gives a
// clean error naming the file and the fault, never a crash or wrong values.
#include "child_process.hpp"
#include "npz_test_support.hpp"

using namespace npz_test;

// ---- bad files -----------------------------------------------------------------

TEST_CASE("npz: missing, empty, a directory, not a zip, a lone .npy: clear errors naming the file") {
  TempDir dir;
  std::string message = load_error(dir.file("missing.npz"));
  CHECK(contains(message, "load_npz: " + dir.file("missing.npz") + ": cannot open: No such file or directory"));

  write_bytes(dir.file("empty.npz"), "");
  message = load_error(dir.file("empty.npz"));
  CHECK(contains(message, dir.file("empty.npz")));
  CHECK(contains(message, "empty file (0 bytes)"));

  message = load_error(dir.path());
  CHECK(contains(message, "is a directory"));

  // A FIFO is refused at once; opening it for reading must not wait for a
  // writer (a child, so that a wait fails the test instead of hanging it).
  const std::string fifo = dir.file("fifo.npz");
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::alarm(20);
    std::string m;
    Outcome outcome = outcome_of([&] { return tg::io::load_npz(fifo); }, nullptr, &m);
    ::_exit(outcome == Outcome::runtime_error && contains(m, fifo + ": is not a regular file") ? 0 : 2);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK_MESSAGE(WIFEXITED(status), "load_npz on a FIFO blocked (killed by SIGALRM)");
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));

  write_bytes(dir.file("text.npz"), "dense/kernel 1 2 3\n");
  message = load_error(dir.file("text.npz"));
  CHECK(contains(message, "not an npz archive"));
  CHECK(contains(message, "64 65 6e 73 65 2f 6b 65"));  // "dense/ke"

  message = load_error(fixture_dir + "/header_2x3_f4.npy");
  CHECK(contains(message, "single .npy array"));

  // Shorter than a zip end record, and starting like one.
  write_bytes(dir.file("pk.npz"), "PK\x03\x04");
  message = load_error(dir.file("pk.npz"));
  CHECK(contains(message, "truncated"));
}

TEST_CASE("npz: a file truncated at every byte offset gives a clean error, never a crash or a result") {
  TempDir dir;
  const std::string path = dir.file("small.npz");
  tg::io::save_npz(path, small_arrays());
  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() > 500);
  check_same(tg::io::load_npz(path), small_arrays());  // the whole file is fine

  int clean = 0;
  std::vector<std::size_t> bad_lengths;
  // Cut one copy shorter and shorter (truncate(2) is much faster than rewriting it).
  write_bytes(dir.file("cut.npz"), bytes);
  for (std::size_t k = bytes.size(); k-- > 0;) {
    REQUIRE(::truncate(dir.file("cut.npz").c_str(), static_cast<off_t>(k)) == 0);
    std::string message;
    Outcome outcome = outcome_of([&] { return tg::io::load_npz(dir.file("cut.npz")); }, nullptr, &message);
    if (outcome == Outcome::runtime_error && contains(message, dir.file("cut.npz"))) ++clean;
    else bad_lengths.push_back(k);
  }
  CHECK(clean == static_cast<int>(bytes.size()));
  CHECK(bad_lengths.empty());
  if (!bad_lengths.empty()) MESSAGE("a bad prefix length: " << bad_lengths.front());

  // Archives numpy wrote (deflated members, data descriptors), cut in memory.
  for (const char* name : {"savez_compressed.npz", "data_descriptor.npz", "versions.npz", "savez.npz"}) {
    CAPTURE(name);
    const std::string fixture = read_bytes(fixture_dir + "/" + name);
    int failures = 0;
    for (std::size_t k = 0; k < fixture.size(); ++k) {
      Outcome outcome = outcome_of([&] { return tg::io::load_npz_from_memory(fixture.data(), k, name); });
      if (outcome != Outcome::runtime_error) ++failures;
    }
    CHECK(failures == 0);
  }
}

TEST_CASE("npz: any single flipped byte gives a clean error or the same arrays, never wrong values") {
  // Bytes outside the checked fields (timestamps, attributes, the local copies of
  // sizes and CRC, deflate's padding bits) may change without harm; everything
  // else must be caught, most of it by the CRC-32.
  TempDir dir;
  tg::io::save_npz(dir.file("small.npz"), small_arrays());
  struct Case {
    std::string name;
    std::string bytes;
  };
  std::vector<Case> cases = {{"ours", read_bytes(dir.file("small.npz"))},
                             {"savez_compressed.npz", read_bytes(fixture_dir + "/savez_compressed.npz")},
                             {"data_descriptor.npz", read_bytes(fixture_dir + "/data_descriptor.npz")}};
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const NamedArrays original = tg::io::load_npz_from_memory(c.bytes.data(), c.bytes.size());
    int errors = 0, harmless = 0, wrong = 0;
    for (std::size_t i = 0; i < c.bytes.size(); ++i) {
      for (unsigned mask : {0x01u, 0x80u, 0xFFu}) {
        std::string flipped = c.bytes;
        flipped[i] = static_cast<char>(static_cast<unsigned char>(flipped[i]) ^ mask);
        NamedArrays arrays;
        Outcome outcome = outcome_of([&] { return tg::io::load_npz_from_memory(flipped.data(), flipped.size()); }, &arrays);
        if (outcome == Outcome::runtime_error) ++errors;
        else if (outcome == Outcome::loaded && same_arrays(arrays, original)) ++harmless;
        else {
          ++wrong;
          if (wrong == 1) MESSAGE("byte " << i << " ^ " << mask << " gave a wrong result or a wrong exception");
        }
      }
    }
    CHECK(wrong == 0);
    CHECK(errors > harmless);  // most bytes matter
  }
}

TEST_CASE("npz: corrupt and unsupported members: clear errors naming the file, the array and the fault") {
  const std::string kernel = make_npy(dict_for("<f4", "(2, 3)"), raw<float>({1, 2, 3, 4, 5, 6}));
  auto error_of = [](const std::vector<ZipEntry>& entries) { return load_error_from_memory(make_zip(entries)); };

  // The crafted archives are valid zip files: the good one loads.
  std::string good = make_zip({{"dense/kernel.npy", kernel}});
  check_same(tg::io::load_npz_from_memory(good.data(), good.size()),
             {{"dense/kernel", Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3})}});
  CHECK(tg::io::load_npz_from_memory(make_zip({}).data(), 22).empty());

  SUBCASE("bad CRC") {
    std::string message = error_of({{"dense/kernel.npy", kernel, /*crc=*/0x12345678}});
    CHECK(contains(message, "load_npz: test.npz: "));
    CHECK(contains(message, "'dense/kernel.npy'"));
    CHECK(contains(message, "CRC-32 mismatch"));
    CHECK(contains(message, "0x12345678"));
  }
  SUBCASE("wrong magic") {
    std::string bad = kernel;
    bad[5] = 'X';
    std::string message = error_of({{"dense/kernel.npy", bad}});
    CHECK(contains(message, "array 'dense/kernel'"));
    CHECK(contains(message, "not a .npy array"));
  }
  SUBCASE("unknown npy version") {
    std::string bad = kernel;
    bad[6] = 9;
    CHECK(contains(error_of({{"a.npy", bad}}), "npy format version 9.0 is not supported"));
  }
  SUBCASE("malformed header dicts") {
    const std::string data = raw<float>({1, 2, 3});
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{'descr': '<f4', 'fortran_order': False, }", "missing key 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1, }", "unexpected key 'extra'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'shape': (3,), }", "'shape' appears twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1), }", "negative dimension"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", "not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': 3, }", "expected '('"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,), }", "not True or False"},
        {"{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (3,), }", "structured arrays"},
        {"{'descr': '<f4", "unterminated string"},
        {"['descr', '<f4']", "expected '{'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } trailing", "unexpected text after the dict"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (3,), }", "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "too large"},
    };
    for (const auto& [dict, expected] : cases) {
      CAPTURE(dict);
      std::string message = error_of({{"w.npy", make_npy(dict, data)}});
      CHECK(contains(message, "array 'w'"));
      CHECK(contains(message, "malformed npy header"));
      CHECK(contains(message, expected));
    }
    // Whitespace, double quotes, any key order and Python 2's 3L are still valid.
    std::string loose = make_zip({{"w.npy", make_npy("{ \"shape\" : (3L,) , 'fortran_order':False,'descr':'<f4'}",
                                                     data)}});
    check_same(tg::io::load_npz_from_memory(loose.data(), loose.size()),
               {{"w", Tensor::from_vector<float>({1, 2, 3}, {3})}});
  }
  SUBCASE("shape and data size disagree") {
    std::string message = error_of({{"dense/kernel.npy", make_npy(dict_for("<f4", "(2, 3)"), raw<float>({1, 2, 3, 4, 5}))}});
    CHECK(contains(message, "array 'dense/kernel'"));
    CHECK(contains(message, "shape (2, 3) and dtype <f4 need 24 bytes, but the member holds 20 bytes of data"));
    // Too much data is as wrong as too little.
    message = error_of({{"b.npy", make_npy(dict_for("<f8", "(1,)"), raw<double>({1, 2}))}});
    CHECK(contains(message, "need 8 bytes, but the member holds 16"));
  }
  SUBCASE("a huge shape is refused before anything is allocated") {
    std::string message =
        error_of({{"big.npy", make_npy(dict_for("<f8", "(1099511627776, 1024)"), raw<double>({1}))}});
    CHECK(contains(message, "need more bytes than the member holds"));
    // A header length beyond the member.
    std::string bad = kernel;
    bad[8] = '\xff';
    bad[9] = '\xff';
    CHECK(contains(error_of({{"k.npy", bad}}), "npy header claims 65535 bytes"));
    // A deflated member claiming 4 GB from 10 bytes.
    CHECK(contains(error_of({{"z.npy", std::string(10, 'x'), -1, 4000000000, 8}}), "more than deflate can produce"));
  }
  SUBCASE("more than 8 dimensions") {
    std::string message = error_of({{"r.npy", make_npy(dict_for("<f4", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), raw<float>({1}))}});
    CHECK(contains(message, "has 9 dimensions; tapegrad tensors have at most 8"));
  }
  SUBCASE("unsupported dtypes are named; Fortran order is fine where it is the same layout") {
    std::string message = error_of({{"counts.npy", make_npy(dict_for("<i2", "(2,)"), raw<std::int16_t>({1, 2}))}});
    CHECK(contains(message, "array 'counts'"));
    CHECK(contains(message, "dtype '<i2' is not supported"));
    std::string row = make_zip({{"row.npy", make_npy(dict_for("<f4", "(1, 3)", "True"), raw<float>({1, 2, 3}))}});
    check_same(tg::io::load_npz_from_memory(row.data(), row.size()),
               {{"row", Tensor::from_vector<float>({1, 2, 3}, {1, 3})}});
    CHECK(contains(error_of({{"m.npy", make_npy(dict_for("<f4", "(2, 2)", "True"), raw<float>({1, 2, 3, 4}))}}),
                   "Fortran order"));
  }
  SUBCASE("duplicate names, non-npy members, unsupported compression") {
    CHECK(contains(error_of({{"a.npy", kernel}, {"b.npy", kernel}, {"a.npy", kernel}}),
                   "the array name 'a' appears twice"));
    CHECK(contains(error_of({{"a.npy", kernel}, {"readme.txt", "hello"}}), "member 'readme.txt' is not a .npy array"));
    CHECK(contains(error_of({{"a.npy", kernel, -1, -1, 12}}), "compression method 12"));
  }
  SUBCASE("members that overlap, so that a small file could describe much data") {
    // 'b' lives inside the data of 'a' (an int64 array whose bytes hold b's local header and npy).
    std::string b_npy = make_npy(dict_for("<f4", "(1,)"), raw<float>({5}));
    std::string b_local;
    put32(b_local, 0x04034b50);
    put16(b_local, 20);
    put16(b_local, 0);
    put16(b_local, 0);
    put16(b_local, 0);
    put16(b_local, 0x21);
    put32(b_local, crc32_of(b_npy));
    put32(b_local, static_cast<std::uint32_t>(b_npy.size()));
    put32(b_local, static_cast<std::uint32_t>(b_npy.size()));
    put16(b_local, 5);
    put16(b_local, 0);
    std::string inner = b_local + "b.npy" + b_npy;
    inner.resize((inner.size() + 7) / 8 * 8, '\0');
    std::string a_npy = make_npy(dict_for("<i8", "(" + std::to_string(inner.size() / 8) + ",)"), inner);
    std::size_t b_offset = 30 + 5 + (a_npy.size() - inner.size());
    std::string message = error_of({{"a.npy", a_npy}, {"b.npy", b_npy, -1, -1, 0, static_cast<std::int64_t>(b_offset)}});
    // libzip gives no member's offset, so the reader sees that the members'
    // headers and data need more bytes than lie before the central directory.
    CHECK(contains(message, "members overlap"));
  }
  SUBCASE("a damaged central directory or end record") {
    std::string bytes = good;
    // libzip tells these apart only as "inconsistent" or "not a zip archive":
    // each is a truncated or corrupt file, said with libzip's words.
    // The entry count claims 65535 arrays: a plain count (save_npz writes it)
    // when no zip64 record precedes the end record, so this directory is too small.
    bytes[bytes.size() - 12] = '\xff';
    bytes[bytes.size() - 11] = '\xff';
    bytes[bytes.size() - 14] = '\xff';
    bytes[bytes.size() - 13] = '\xff';
    CHECK(contains(load_error_from_memory(bytes), "truncated or corrupt"));
    // A zip64 end-of-central-directory locator before the end record, pointing at no zip64 record.
    std::string locator;
    put32(locator, 0x07064b50);
    put32(locator, 0);
    put32(locator, static_cast<std::uint32_t>(bytes.size() - 22));
    put32(locator, 0);
    put32(locator, 1);
    bytes.insert(bytes.size() - 22, locator);
    CHECK(contains(load_error_from_memory(bytes), "truncated or corrupt"));
    // 200 entries in a directory with room for one.
    bytes = good;
    bytes[bytes.size() - 12] = static_cast<char>(200);
    bytes[bytes.size() - 14] = static_cast<char>(200);
    CHECK(contains(load_error_from_memory(bytes), "truncated or corrupt"));
    // A local header offset pointing past the data.
    bytes = good;
    std::size_t directory = bytes.size() - 22 - 46 - std::string("dense/kernel.npy").size();
    bytes[directory + 42] = static_cast<char>(200);
    std::string message = load_error_from_memory(bytes);
    CHECK((contains(message, "no local header at offset 200") || contains(message, "truncated or corrupt")));
    // The data runs into the central directory.
    bytes = good;
    bytes[directory + 20] = static_cast<char>(bytes[directory + 20] + 100);
    bytes[directory + 24] = static_cast<char>(bytes[directory + 24] + 100);
    message = load_error_from_memory(bytes);
    CHECK(contains(message, "truncated or corrupt"));
  }
}

TEST_CASE("npz: bytes after the end record are ignored, as numpy and zipfile ignore them") {
  // zipfile finds the end record in the last 64 KiB + 22 bytes and ignores what
  // follows it (a file padded by a transfer, or with a signature appended).
  TempDir dir;
  tg::io::save_npz(dir.file("w.npz"), small_arrays());
  const std::string bytes = read_bytes(dir.file("w.npz"));
  for (std::size_t extra : {std::size_t{1}, std::size_t{21}, std::size_t{22}, std::size_t{1000}, std::size_t{65535}}) {
    CAPTURE(extra);
    // Zeros and text; no end-record signature (zipfile would take the last one it finds).
    std::string padded = bytes;
    for (std::size_t i = 0; i < extra; ++i) padded += i % 7 < 3 ? '\0' : "junk"[i % 7 - 3];
    write_bytes(dir.file("padded.npz"), padded);
    check_same(tg::io::load_npz(dir.file("padded.npz")), small_arrays());
  }
  // Further from the end than zipfile looks: not found (numpy: "File is not a zip file").
  write_bytes(dir.file("far.npz"), bytes + std::string(65536 + 22, 'x'));
  CHECK(contains(load_error(dir.file("far.npz")), "no zip end-of-central-directory record"));
  // An end record cut short is still a truncated file, whatever follows the cut.
  std::string cut = bytes.substr(0, bytes.size() - 5);
  CHECK(contains(load_error_from_memory(cut), "truncated"));
}

TEST_CASE("npz: a shape whose element count overflows is refused even when a dimension is 0") {
  // numpy refuses these too: (2^32, 2^32, 0) "cannot reshape array of size 0",
  // (2^60, 0) and (2^62, 0) of <f8 "array is too big" (itemsize times the nonzero dimensions
  // must fit in int64); it accepts (2^60 - 1, 0) and (2^32, 0).
  for (std::string shape : {"(4294967296, 4294967296, 0)", "(0, 4294967296, 4294967296)", "(1152921504606846976, 0)",
                            "(4611686018427387904, 0)"}) {
    CAPTURE(shape);
    std::string message = load_error_from_memory(make_zip({{"big.npy", make_npy(dict_for("<f8", shape), "")}}));
    CHECK(contains(message, "load_npz: test.npz: array 'big': shape " + shape));
    CHECK(contains(message, "too many elements"));
  }
  std::string fine = make_zip({{"e.npy", make_npy(dict_for("<f8", "(4294967296, 0)"), "")}});
  NamedArrays arrays = tg::io::load_npz_from_memory(fine.data(), fine.size());
  REQUIRE(arrays.size() == 1);
  CHECK(arrays[0].second.shape() == Shape{4294967296, 0});
  CHECK(arrays[0].second.numel() == 0);
}

TEST_CASE("npz: a file needing more memory than the process may have: an error naming the file and the bytes") {
  if (tgtest::address_sanitizer) {
    MESSAGE("skipped under AddressSanitizer: it reserves address space of its own and aborts on a failed allocation");
    return;
  }
  // A sparse file of 1 GiB: one stored float64 array of 2^27 elements (its
  // data a hole), loaded by a child whose address space is capped 256 MiB above
  // what it uses: the allocation fails, and the error says which file and how much.
  TempDir dir;
  const std::string path = dir.file("huge.npz");
  const std::uint64_t count = std::uint64_t{1} << 27, data_size = count * 8;
  const std::string npy_header = make_npy(dict_for("<f8", "(" + std::to_string(count) + ",)"), "");
  const std::string name = "huge.npy";
  const std::uint32_t member_size = static_cast<std::uint32_t>(npy_header.size() + data_size);
  std::string local;
  put32(local, 0x04034b50);
  put16(local, 20);
  put16(local, 0);
  put16(local, 0);
  put16(local, 0);
  put16(local, 0x21);
  put32(local, 0);  // the CRC is never reached
  put32(local, member_size);
  put32(local, member_size);
  put16(local, static_cast<std::uint32_t>(name.size()));
  put16(local, 0);
  local += name + npy_header;
  std::string tail;
  put32(tail, 0x02014b50);
  put16(tail, 20);
  put16(tail, 20);
  put16(tail, 0);
  put16(tail, 0);
  put16(tail, 0);
  put16(tail, 0x21);
  put32(tail, 0);
  put32(tail, member_size);
  put32(tail, member_size);
  put16(tail, static_cast<std::uint32_t>(name.size()));
  for (int i = 0; i < 4; ++i) put16(tail, 0);
  put32(tail, 0);
  put32(tail, 0);
  tail += name;
  const std::uint64_t directory_offset = local.size() + data_size;
  const std::uint32_t directory_size = static_cast<std::uint32_t>(tail.size());
  put32(tail, 0x06054b50);
  put16(tail, 0);
  put16(tail, 0);
  put16(tail, 1);
  put16(tail, 1);
  put32(tail, directory_size);
  put32(tail, static_cast<std::uint32_t>(directory_offset));
  put16(tail, 0);
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, local.data(), local.size(), 0) == static_cast<ssize_t>(local.size()));
    REQUIRE(::pwrite(fd, tail.data(), tail.size(), static_cast<off_t>(directory_offset)) ==
            static_cast<ssize_t>(tail.size()));
    ::close(fd);
  }
  const tgtest::ChildOutcome outcome =
      tgtest::run_in_child([&] { tg::io::load_npz(path); }, 60, std::uint64_t{256} << 20);
  REQUIRE_MESSAGE(outcome.returned, "the child " << outcome.ended);
  // Not a bare std::bad_alloc: the file, the array and the bytes.
  CHECK_CONTAINS(outcome.error, "load_npz: " + path + ": array 'huge'");
  CHECK_CONTAINS(outcome.error, "1073741824 bytes");
  CHECK_CONTAINS(outcome.error, "out of memory");
}
