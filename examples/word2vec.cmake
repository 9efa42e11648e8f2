# word2vec (examples/word2vec.cpp): compiled as the library and the benchmarks
# (-O3, this machine's vector instructions), so that the tape path's inline
# helpers (examples/word2vec/skipgram_model.hpp) run as in bench/word2vec.cpp.
# The fused trainer's loops are the library's (data/skipgram_trainer.cpp).
if(TARGET word2vec)
  target_compile_options(word2vec PRIVATE $<$<CONFIG:Release>:-O3>)
  if(TAPEGRAD_NATIVE)
    target_compile_options(word2vec PRIVATE -march=native)
  endif()
endif()

# Short runs on a small committed corpus (Genesis, KJV) as tests: both
# trainers, then gensim reading our vectors file for real.
if(TAPEGRAD_BUILD_TESTS AND TARGET word2vec)
  set(W2V_CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/data/genesis.txt)
  set(W2V_OUT ${CMAKE_CURRENT_BINARY_DIR}/word2vec_test_out)
  add_test(NAME example_word2vec_keras
    COMMAND word2vec --corpus ${W2V_CORPUS} --out ${W2V_OUT}/keras --min-count 3 --dim 32 --epochs 1
            --probes god,earth,water,son
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  add_test(NAME example_word2vec_fused
    COMMAND word2vec --corpus ${W2V_CORPUS} --out ${W2V_OUT}/fused --min-count 3 --epochs 2 --trainer fused
            --threads 2 --probes god,earth,water,son
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  # gensim's KeyedVectors.load_word2vec_format on both files; exit 77 (skipped)
  # when Debian's python3-gensim is not installed.
  add_test(NAME example_word2vec_gensim_load
    COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/compare_word2vec.py
            --check-load ${W2V_OUT}/keras/vectors.txt ${W2V_OUT}/fused/vectors.txt)
  set_tests_properties(example_word2vec_gensim_load PROPERTIES
    DEPENDS "example_word2vec_keras;example_word2vec_fused" SKIP_RETURN_CODE 77)
  set_tests_properties(example_word2vec_keras example_word2vec_fused PROPERTIES TIMEOUT 300)
endif()
