# What `cmake --install` adds beside the targets (the CMake package,
# pkg-config, the systemd unit, the documents) and how `cpack -G DEB` makes a
# Debian package of it. Relative paths only, so one build installs into any
# prefix and packages into /usr.
include(CMakePackageConfigHelpers)

install(EXPORT microsocketsTargets NAMESPACE microsockets:: DESTINATION ${MICROSOCKETS_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/microsocketsConfig.cmake.in
  ${PROJECT_BINARY_DIR}/packaging/microsocketsConfig.cmake
  INSTALL_DESTINATION ${MICROSOCKETS_INSTALL_CMAKEDIR}
  PATH_VARS MICROSOCKETS_INSTALL_PLUGINDIR)
# A plugin asks for an ABI version; same major, at most this minor, is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/packaging/microsocketsConfigVersion.cmake
  VERSION ${MICROSOCKETS_ABI_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/packaging/microsocketsConfig.cmake
              ${PROJECT_BINARY_DIR}/packaging/microsocketsConfigVersion.cmake
        DESTINATION ${MICROSOCKETS_INSTALL_CMAKEDIR})

configure_file(${CMAKE_CURRENT_LIST_DIR}/microsockets.pc.in ${PROJECT_BINARY_DIR}/packaging/microsockets.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/packaging/microsockets.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)

# The unit names the installed paths, so it is written at install time, for the
# prefix being installed into (/usr in the Debian package); a folder per
# destination, so that two installs at once do not share the file.
install(CODE "
  set(bindir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  set(plugindir \"\${CMAKE_INSTALL_PREFIX}/${MICROSOCKETS_INSTALL_PLUGINDIR}\")
  set(docdir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\")
  string(MD5 destination \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  set(unit \"${PROJECT_BINARY_DIR}/packaging/unit/\${destination}/microsockets.service\")
  configure_file(\"${CMAKE_CURRENT_LIST_DIR}/microsockets.service.in\" \"\${unit}\" @ONLY)
  file(INSTALL \"\${unit}\" DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
")

# The Debian package: runtime dependencies found by dpkg-shlibdeps from the
# host and plugins (Boost.JSON, Boost.URL, fmt, libstdc++...), procps for the
# unit's `kill`. One package holds the host and the SDK, which is headers only.
set(CPACK_PACKAGE_NAME microsockets)
set(CPACK_PACKAGE_VENDOR "the microsockets authors")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "WebSocket event server with rooms and hot-reloaded plugins")
set(CPACK_PACKAGE_DESCRIPTION "A host process owns every WebSocket connection and room; \
event handlers live in plugins (shared libraries against a C ABI) that it loads from a folder \
and reloads on SIGHUP. Wire-compatible with the JavaScript client of the Python microsockets. \
Includes the systemd service, the plugin SDK (C and C++ headers, CMake package, pkg-config) \
and the shipped plugins in /usr/lib/microsockets/plugins-available.")
set(CPACK_PACKAGE_CONTACT "the microsockets authors <maintainers@microsockets.invalid>")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
# Install with DESTDIR into a staging root, so that CMAKE_INSTALL_PREFIX is
# /usr while the unit above is written.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Debian ships stripped binaries (the debug information would be a -dbgsym package).
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS procps)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_CURRENT_LIST_DIR}/debian/postinst ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
  ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
