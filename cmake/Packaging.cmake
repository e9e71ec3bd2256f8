# A Debian package with CPack: `make package` (or `cd build && cpack`) writes
# tailbox_<version>_<arch>.deb into the build directory. Everything `cmake --install` installs goes
# in, under /usr. Depends comes from dpkg-shlibdeps (Debian package dpkg-dev) over the binaries, so
# it names exactly the runtime libraries they link (libstdc++6, libfmt9, libspdlog1.10, …).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tailbox)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR tailbox)
set(CPACK_PACKAGE_CONTACT "tailbox maintainers <maintainers@users.noreply.b-seed-59cfda45.example>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "sing-box's Tailscale endpoint in daemon-only mode, as small Unix tools")
# The extended description; CPack puts the summary first and indents it as Debian wants.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "tailbox talks to an already running tailscaled over its Local API and never
embeds Tailscale. Four tools speak JSON Lines and make a shell pipeline: ts-status (state, peers,
health, key expiry; check for monitoring, watch, wait, Prometheus textfile metrics), ts-auth
(headless login with an auth key), sb-route (sing-box configs and rules with sing-box's semantics)
and sb-relay (a SOCKS5/HTTP proxy sending tailnet traffic through tailscale0).

Also: tailbox-proxy (the supervised pipeline), tailbox-healthcheck (for cron), systemd units,
bash and zsh completions.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The scripts need bash and logger (bsdutils), both essential in Debian: no Depends for them.
# tailscaled is what the tools talk to (from pkgs.tailscale.com, not Debian): recommended, so
# dpkg and apt install without it.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "tailscale")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "jq, bash-completion, prometheus-node-exporter")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)        # tailbox_0.1.0_amd64.deb
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)                      # RelWithDebInfo binaries are ~20-40 MB each
# The test daemon and unit tests have no install rules; only the default component is packaged.
include(CPack)
