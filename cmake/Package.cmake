# The Debian package (scripts/package builds and tests it): /usr/bin/fieldsync, the
# documented example configuration as a conffile in /etc/fieldsync (readable by the
# fieldsync group only: it holds the DSN and the admin token), and the systemd unit. The
# maintainer scripts in deploy/debian/ make the fieldsync system user. The library
# dependencies are computed by dpkg-shlibdeps from the binary, so they name the Debian
# packages it was linked against.
install(TARGETS fieldsync RUNTIME DESTINATION bin)
install(FILES config/fieldsync.toml DESTINATION /etc/fieldsync
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES deploy/fieldsync.service DESTINATION /lib/systemd/system)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fieldsync)
set(CPACK_PACKAGE_VENDOR fieldsync)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "real-time sync server for offline-first apps on PostgreSQL")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "fieldsync maintainers")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql-15, haproxy")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
