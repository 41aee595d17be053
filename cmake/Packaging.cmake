# Installation and the Debian package, included by the top CMakeLists.txt.
#
#   cmake --install BUILD [--prefix P]   the program, its man page, completions, documents
#   cpack -G DEB (in BUILD; scripts/package)  reencode_VERSION_ARCH.deb for Debian 12
#
# Only the program and its documents: test, bench and fuzz binaries stay in
# the build tree.
include(GNUInstallDirs)
install(TARGETS reencode RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES docs/reencode.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES scripts/completions/reencode.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME reencode)
install(FILES scripts/completions/_reencode
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES README.md LICENSE-MIT LICENSE-APACHEv2 docs/design.md docs/journal.md
              docs/match-expressions.md docs/benchmarks.md docs/internals.md docs/cluster.md
              ${CMAKE_CURRENT_BINARY_DIR}/generated/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# `reencode watch` as a systemd user service: an example to copy (its
# comments say how), not enabled by the package.
install(FILES docs/examples/reencode-watch.service DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# Debian's place for the licence terms: share/doc/reencode/copyright (DEP-5).
file(READ LICENSE-MIT rx_mit)
string(STRIP "${rx_mit}" rx_mit)
string(REGEX REPLACE "\n\n" "\n.\n" rx_mit "${rx_mit}")
string(REGEX REPLACE "\n" "\n " rx_mit "${rx_mit}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/generated/copyright
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: reencode

Files: *
Copyright: 2026 The reencode developers
License: MIT or Apache-2.0

License: MIT
 ${rx_mit}

License: Apache-2.0
 The full text is in /usr/share/common-licenses/Apache-2.0 and in
 LICENSE-APACHEv2 beside this file.
")

# A .deb for Debian 12: cpack -G DEB in the build tree (scripts/package).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME reencode)
set(CPACK_PACKAGE_VENDOR "The reencode developers")
set(CPACK_PACKAGE_CONTACT "The reencode developers <maintainers@users.noreply.b-seed-e0fba211.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "Re-encodes folders of screen recordings (Xbox Game Bar H.264 MP4 and the like),
selected by their metadata, to AV1 + Opus in WebM, tuned for screen content;
resumable through a checkpoint journal, never losing or corrupting an original.
Dual-licensed under MIT or Apache-2.0.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE-MIT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # reencode_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION video)
# Depends from the libraries the binary links (dpkg-shlibdeps, in dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "man-db")
include(CPack)
