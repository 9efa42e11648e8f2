# The Siamese Fashion-MNIST example reads Debian's dataset-fashion-mnist
# (scripts/setup.sh installs it); a short run of each base is a test.
if(TARGET siamese_fashion AND TAPEGRAD_BUILD_TESTS)
  add_test(NAME example_siamese_fashion_conv
           COMMAND siamese_fashion --small --quiet --min-pair-accuracy 0.8
                   --out ${CMAKE_CURRENT_BINARY_DIR}/siamese_fashion_out
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  add_test(NAME example_siamese_fashion_keras
           COMMAND siamese_fashion --small --base keras --quiet --min-pair-accuracy 0.75
                   --out ${CMAKE_CURRENT_BINARY_DIR}/siamese_fashion_out_keras
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  add_test(NAME example_siamese_fashion_bad_flag COMMAND siamese_fashion --base vgg)
  set_tests_properties(example_siamese_fashion_bad_flag PROPERTIES WILL_FAIL TRUE)
  add_test(NAME example_siamese_fashion_missing_data COMMAND siamese_fashion --small --data /nonexistent)
  set_tests_properties(example_siamese_fashion_missing_data PROPERTIES WILL_FAIL TRUE)
endif()
