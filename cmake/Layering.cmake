# fieldsync_check_layering(module "allowed,deps" ...)   ("-" for none)
# (Commas, not semicolons: a ;-list would be split into separate arguments.)
#
# A module is a folder ("storage", "server/live"). A folder nested in a module and named
# as a module of its own ("storage/dev" in "storage") belongs to that inner module.
# Fails the configure step when a file includes a header of a module its module may not
# depend on. The target link graph enforces the direction between libraries; this check
# catches the header-only shortcuts the linker cannot see, and orders the folders inside
# one library (server/) that the linker cannot tell apart.

# The module that owns `path` (a path relative to the source root): the longest module
# that is a prefix of it, or "" when none is.
function(_fieldsync_module_of path modules out)
  set(best "")
  foreach(m IN LISTS modules)
    string(FIND "${path}/" "${m}/" pos)
    string(LENGTH "${m}" len)
    string(LENGTH "${best}" best_len)
    if(pos EQUAL 0 AND len GREATER best_len)
      set(best "${m}")
    endif()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()

function(fieldsync_check_layering)
  set(all_modules "")
  set(args ${ARGN})
  list(LENGTH args n)
  math(EXPR last "${n} - 1")
  foreach(i RANGE 0 ${last} 2)
    list(GET args ${i} m)
    list(APPEND all_modules ${m})
  endforeach()
  foreach(i RANGE 0 ${last} 2)
    list(GET args ${i} module)
    math(EXPR j "${i} + 1")
    list(GET args ${j} allowed)
    string(REPLACE "," ";" allowed "${allowed}")
    list(APPEND allowed ${module})
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS
      "${PROJECT_SOURCE_DIR}/${module}/*.hpp" "${PROJECT_SOURCE_DIR}/${module}/*.cpp")
    foreach(src IN LISTS sources)
      file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}" "${src}")
      get_filename_component(src_dir "${rel}" DIRECTORY)
      _fieldsync_module_of("${src_dir}" "${all_modules}" owner)
      if(NOT owner STREQUAL module)
        continue()  # a file of a nested module, checked as that module
      endif()
      file(STRINGS "${src}" includes REGEX "^[ \t]*#[ \t]*include[ \t]+\"[a-z0-9_/]+\\.hpp\"")
      foreach(line IN LISTS includes)
        string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([a-z0-9_/]+)/[a-z0-9_]+\\.hpp\".*" "\\1" inc_dir "${line}")
        _fieldsync_module_of("${inc_dir}" "${all_modules}" target_module)
        if(target_module AND NOT target_module IN_LIST allowed)
          message(FATAL_ERROR "layering: ${rel} includes ${target_module}/, but ${module} may only depend on: ${allowed}")
        endif()
      endforeach()
    endforeach()
  endforeach()
endfunction()
