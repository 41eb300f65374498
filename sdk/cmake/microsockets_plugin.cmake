# microsockets_add_plugin(<name> <sources>...)
#
# Builds a plugin the host can load and unload: a shared library without the
# "lib" prefix, hidden symbols except the SDK's entry points, and
# -fno-gnu-unique, because an STB_GNU_UNIQUE symbol (any inline or template
# static) would silently keep the library mapped after the host unloads it.
function(microsockets_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE microsockets::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_options(${name} PRIVATE -fno-gnu-unique ${MICROSOCKETS_WARNINGS})
endfunction()
