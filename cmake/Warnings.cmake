# fieldsync_warnings: the warning set every fieldsync target compiles with.
add_library(fieldsync_warnings INTERFACE)
target_compile_options(fieldsync_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${FIELDSYNC_WERROR}>:-Werror>)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false positives inside Boost.Asio/Beast coroutine frames, and at -O3
  # (the release build of scripts/dev) in libstdc++'s string and shared_ptr inlines.
  target_compile_options(fieldsync_warnings INTERFACE
    -Wno-maybe-uninitialized -Wno-mismatched-new-delete -Wno-array-bounds -Wno-stringop-overflow
    -Wno-restrict -Wno-null-dereference)
endif()
