# microsockets_add_plugin(<name> <sources>...)
#
# Builds a plugin the host can load and unload, from C or C++ sources: a
# shared library named <name>.so (no "lib" prefix), every symbol hidden but the
# two entry points the SDK's macros export, and, with GCC's C++ compiler,
# -fno-gnu-unique: an STB_GNU_UNIQUE symbol (any inline or template static)
# would silently keep the library mapped after the host unloads it. Clang
# emits no such symbols and rejects the flag.
#
# Options in MICROSOCKETS_PLUGIN_COMPILE_OPTIONS are added to every plugin made
# here (this source tree sets its warnings there).
#
# Needs the target microsockets::sdk: find_package(microsockets) defines it.
function(microsockets_add_plugin name)
  if(NOT TARGET microsockets::sdk)
    message(FATAL_ERROR "microsockets_add_plugin: no target microsockets::sdk; call find_package(microsockets) first")
  endif()
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE microsockets::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_options(${name} PRIVATE
    $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-fno-gnu-unique>
    ${MICROSOCKETS_PLUGIN_COMPILE_OPTIONS})
endfunction()
