# The Siamese digits example: it reads examples/data/digits.csv.gz with zlib,
# and a short run (2 epochs, a few seconds) is a test.
if(TARGET siamese_digits)
  target_link_libraries(siamese_digits PRIVATE ZLIB::ZLIB)
  # A last place to look for the data when neither --data nor a path relative
  # to the executable or the working directory finds it.
  target_compile_definitions(siamese_digits PRIVATE TAPEGRAD_EXAMPLES_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(TAPEGRAD_BUILD_TESTS)
    add_test(NAME example_siamese_digits
             COMMAND siamese_digits --epochs 2 --quiet --min-pair-accuracy 0.9
                     --data ${PROJECT_SOURCE_DIR}/examples/data/digits.csv.gz
                     --out ${CMAKE_CURRENT_BINARY_DIR}/siamese_out
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    add_test(NAME example_siamese_digits_cosine_embedding_dot
             COMMAND siamese_digits --epochs 1 --pairs 4000 --quiet --loss cosine_embedding --head dot
                     --min-pair-accuracy 0.8 --data ${PROJECT_SOURCE_DIR}/examples/data/digits.csv.gz
                     --out ${CMAKE_CURRENT_BINARY_DIR}/siamese_out_cosine_embedding
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    add_test(NAME example_siamese_digits_cosine_similarity
             COMMAND siamese_digits --epochs 1 --pairs 4000 --quiet --loss cosine_similarity
                     --min-pair-accuracy 0.8 --data ${PROJECT_SOURCE_DIR}/examples/data/digits.csv.gz
                     --out ${CMAKE_CURRENT_BINARY_DIR}/siamese_out_cosine_similarity
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    # A bad flag is refused with a clear message and status 2.
    add_test(NAME example_siamese_digits_bad_flag COMMAND siamese_digits --loss hinge)
    set_tests_properties(example_siamese_digits_bad_flag PROPERTIES
      WILL_FAIL TRUE)
  endif()
endif()
