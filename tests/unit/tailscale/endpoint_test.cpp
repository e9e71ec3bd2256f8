#include "libcommon/tailscale/endpoint.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/unit/test_util.hpp"

namespace tb::ts {
namespace {

namespace fs = std::filesystem;

// A fresh directory standing in for "/", removed at the end of the test.
class TempRoot {
 public:
  const std::string& path() const { return dir_.path(); }
  std::string operator/(const std::string& abs) const { return path_ + abs; }

  // Creates a plain file at an absolute-looking path under the root.
  void touch(const std::string& abs, const std::string& content = {}) const {
    fs::create_directories(fs::path(path_ + abs).parent_path());
    std::ofstream(path_ + abs, std::ios::binary) << content;
  }
  void symlink(const std::string& target, const std::string& abs) const {
    fs::create_directories(fs::path(path_ + abs).parent_path());
    fs::create_symlink(target, path_ + abs);
  }

 private:
  test::TempDir dir_{"tb-endpoint"};
  const std::string& path_ = dir_.path();
};

DiscoveryOptions linux_opts(const TempRoot& root) {
  DiscoveryOptions o;
  o.platform = Platform::kLinux;
  o.root = root.path();
  return o;
}

TEST(Endpoint, CurrentPlatformIsLinuxHere) { EXPECT_EQ(current_platform(), Platform::kLinux); }

TEST(Endpoint, LinuxCandidatesInDocumentedOrder) {
  std::vector<std::string> paths;
  for (const auto& [path, source] : linux_socket_candidates()) paths.push_back(path);
  std::vector<std::string> want = {
      "/var/run/tailscale/tailscaled.sock",          "/run/tailscale/tailscaled.sock",
      "/var/packages/Tailscale/var/tailscaled.sock", "/var/packages/Tailscale/etc/tailscaled.sock",
      "/tmp/tailscale/tailscaled.sock",              "/perm/tailscaled/tailscaled.sock",
      "/tmp/tailscaled.sock",
  };
  EXPECT_EQ(paths, want);
  EXPECT_EQ(linux_socket_candidates().front().second, "default");
}

TEST(Endpoint, ExplicitSocketBeatsEverything) {
  TempRoot root;
  root.touch("/var/run/tailscale/tailscaled.sock");
  auto o = linux_opts(root);
  o.explicit_socket = "/srv/ts.sock";
  o.env_socket = "/env/ts.sock";
  auto ep = discover_endpoint(o);
  EXPECT_EQ(ep.kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(ep.path, "/srv/ts.sock");
  EXPECT_EQ(ep.source, "--socket");
}

TEST(Endpoint, TsSocketBeatsCandidates) {
  TempRoot root;
  root.touch("/var/run/tailscale/tailscaled.sock");
  auto o = linux_opts(root);
  o.env_socket = "/env/ts.sock";
  auto ep = discover_endpoint(o);
  EXPECT_EQ(ep.path, "/env/ts.sock");
  EXPECT_EQ(ep.source, "TS_SOCKET");
}

TEST(Endpoint, EachCandidateIsFoundUnderRoot) {
  for (const auto& [path, source] : linux_socket_candidates()) {
    SCOPED_TRACE(path);
    TempRoot root;
    root.touch(path);
    auto ep = discover_endpoint(linux_opts(root));
    EXPECT_EQ(ep.kind, Endpoint::Kind::kUnix);
    EXPECT_EQ(ep.path, root / path);
    EXPECT_EQ(ep.source, source);
  }
}

TEST(Endpoint, SynologyQnapAndContainerSources) {
  struct Case {
    std::string path, source;
  };
  for (const auto& c : {Case{"/var/packages/Tailscale/var/tailscaled.sock", "synology-dsm7"},
                        Case{"/var/packages/Tailscale/etc/tailscaled.sock", "synology-dsm6"},
                        Case{"/tmp/tailscale/tailscaled.sock", "qnap"}, Case{"/tmp/tailscaled.sock", "container"}}) {
    TempRoot root;
    root.touch(c.path);
    auto ep = discover_endpoint(linux_opts(root));
    EXPECT_EQ(ep.path, root / c.path);
    EXPECT_EQ(ep.source, c.source);
  }
}

TEST(Endpoint, FirstExistingCandidateWins) {
  TempRoot root;
  root.touch("/tmp/tailscaled.sock");            // container, later in the list
  root.touch("/tmp/tailscale/tailscaled.sock");  // QNAP, earlier
  auto ep = discover_endpoint(linux_opts(root));
  EXPECT_EQ(ep.path, root / "/tmp/tailscale/tailscaled.sock");
  EXPECT_EQ(ep.source, "qnap");
}

TEST(Endpoint, DefaultPathWhenNothingExists) {
  TempRoot root;
  auto ep = discover_endpoint(linux_opts(root));
  EXPECT_EQ(ep.kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(ep.path, root / "/var/run/tailscale/tailscaled.sock");
  EXPECT_EQ(ep.source, "default");
  EXPECT_EQ(ep.describe(), ep.path);
}

TEST(Endpoint, ProductionRootIsTheRealFilesystem) {
  DiscoveryOptions o;
  o.platform = Platform::kLinux;
  auto ep = discover_endpoint(o);
  EXPECT_EQ(ep.path.front(), '/');
  EXPECT_EQ(ep.path.rfind("tailscaled.sock"), ep.path.size() - 15);
}

// ---- macOS ----

constexpr const char* kToken = "0123456789abcdef0123";

struct MacFixture {
  TempRoot root;
  std::vector<int> probed;
  DiscoveryOptions opts(bool listening = true) {
    DiscoveryOptions o;
    o.platform = Platform::kMacOS;
    o.root = root.path();
    o.probe = [this, listening](int port) {
      probed.push_back(port);
      return listening;
    };
    return o;
  }
  void install(const std::string& port = "52345", const std::string& token = std::string(kToken) + "\n") {
    root.symlink(port, "/Library/Tailscale/ipnport");
    root.touch("/Library/Tailscale/sameuserproof-" + port, token);
  }
};

TEST(EndpointMac, MacsysSymlinkAndToken) {
  MacFixture f;
  f.install();
  auto ep = discover_endpoint(f.opts());
  EXPECT_EQ(ep.kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(ep.port, 52345);
  EXPECT_EQ(ep.token, kToken);  // trailing newline stripped
  EXPECT_EQ(ep.source, "macsys");
  EXPECT_EQ(f.probed, std::vector<int>{52345});
  EXPECT_EQ(ep.describe(), "127.0.0.1:52345");
  EXPECT_EQ(ep.describe().find(kToken), std::string::npos);
}

TEST(EndpointMac, IpnportAsRegularFile) {
  MacFixture f;
  f.root.touch("/Library/Tailscale/ipnport", "52345\n");
  f.root.touch("/Library/Tailscale/sameuserproof-52345", kToken);
  auto ep = discover_endpoint(f.opts());
  EXPECT_EQ(ep.kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(ep.port, 52345);
  EXPECT_EQ(ep.token, kToken);
}

void expect_daemon_socket(const Endpoint& ep, const TempRoot& root) {
  EXPECT_EQ(ep.kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(ep.path, root / "/var/run/tailscaled.socket");
  EXPECT_EQ(ep.source, "default");
  EXPECT_TRUE(ep.token.empty());
}

TEST(EndpointMac, NoFilesFallsBackToDaemonSocket) {
  MacFixture f;
  expect_daemon_socket(discover_endpoint(f.opts()), f.root);
  EXPECT_TRUE(f.probed.empty());
}

TEST(EndpointMac, StalePortFallsBack) {
  MacFixture f;
  f.install();
  expect_daemon_socket(discover_endpoint(f.opts(/*listening=*/false)), f.root);
  EXPECT_EQ(f.probed, std::vector<int>{52345});
}

TEST(EndpointMac, MissingTokenFallsBack) {
  MacFixture f;
  f.root.symlink("52345", "/Library/Tailscale/ipnport");
  expect_daemon_socket(discover_endpoint(f.opts()), f.root);
}

TEST(EndpointMac, TokenForAnotherPortFallsBack) {
  MacFixture f;
  f.root.symlink("52345", "/Library/Tailscale/ipnport");
  f.root.touch("/Library/Tailscale/sameuserproof-41112", kToken);
  expect_daemon_socket(discover_endpoint(f.opts()), f.root);
}

TEST(EndpointMac, InvalidFilesFallBack) {
  for (const auto& [port, token] : std::vector<std::pair<std::string, std::string>>{
           {"not-a-port", kToken}, {"0", kToken}, {"70000", kToken}, {"52345x", kToken},
           {"52345", ""}, {"52345", "\n"}, {"52345", "zz-not-hex\n"}, {"52345", "abc:def"}}) {
    SCOPED_TRACE(port + " / " + token);
    MacFixture f;
    f.install(port, token);
    expect_daemon_socket(discover_endpoint(f.opts()), f.root);
  }
}

// --socket, and TS_SOCKET too, win over (and disable) the TCP discovery.
TEST(EndpointMac, ExplicitSocketOrTsSocketDisablesTcpDiscovery) {
  for (bool flag : {true, false}) {
    SCOPED_TRACE(flag ? "--socket" : "TS_SOCKET");
    MacFixture f;
    f.install();
    auto o = f.opts();
    (flag ? o.explicit_socket : o.env_socket) = "/tmp/my.socket";
    auto ep = discover_endpoint(o);
    EXPECT_EQ(ep.kind, Endpoint::Kind::kUnix);
    EXPECT_EQ(ep.path, "/tmp/my.socket");
    EXPECT_EQ(ep.source, flag ? "--socket" : "TS_SOCKET");
    EXPECT_TRUE(f.probed.empty());
  }
}

TEST(EndpointMac, RealProbeSeesAListenerAndNotAClosedPort) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);
  EXPECT_TRUE(probe_loopback_port(port));
  ::close(fd);
  EXPECT_FALSE(probe_loopback_port(port));
  EXPECT_FALSE(probe_loopback_port(0));
}

// ---- Windows ----

TEST(EndpointWindows, NamedPipe) {
  DiscoveryOptions o;
  o.platform = Platform::kWindows;
  auto ep = discover_endpoint(o);
  EXPECT_EQ(ep.kind, Endpoint::Kind::kPipe);
  EXPECT_EQ(ep.path, R"(\\.\pipe\ProtectedPrefix\Administrators\Tailscale\tailscaled)");
  EXPECT_EQ(ep.describe(), ep.path);
  EXPECT_EQ(ep.source, "default");

  o.explicit_socket = R"(\\.\pipe\other)";
  ep = discover_endpoint(o);
  EXPECT_EQ(ep.kind, Endpoint::Kind::kPipe);
  EXPECT_EQ(ep.path, R"(\\.\pipe\other)");
  EXPECT_EQ(ep.source, "--socket");
}

}  // namespace
}  // namespace tb::ts
