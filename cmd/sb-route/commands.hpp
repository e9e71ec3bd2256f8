#pragma once
// sb-route's subcommands: plain argument structs in, an exit code out. CLI11 lives in main.cpp only.

#include <memory>
#include <string>
#include <vector>

#include "libcommon/route/config.hpp"
#include "libcommon/route/process.hpp"
#include "libcommon/route/request.hpp"
#include "libcommon/route/router.hpp"
#include "libcommon/route/source.hpp"

namespace tb::cmd::sb_route {

struct CommonArgs {
  std::vector<std::string> configs;      // -c
  std::vector<std::string> config_dirs;  // -C
};

struct CheckArgs {
  bool json = false;
  bool quiet = false;
};

struct ExplainArgs {
  std::string destination;  // host:port
  std::string inbound, network = "tcp", source, user;
  std::string sniff_protocol, sniff_domain;
  std::string process_name, process_path, process_user;
  int64_t process_uid = -1;
  std::vector<std::string> dns;  // NAME=IP[,IP]
  std::string status_file;
  bool json = false;
};

struct DecideArgs {
  std::vector<std::string> dns;
  std::string status_file;
  bool find_process = false;
};

struct FormatArgs {
  bool write = false;
};

struct PlanArgs {
  bool pretty = false;
};

int run_check(const CommonArgs& common, const CheckArgs& args);
int run_explain(const CommonArgs& common, const ExplainArgs& args);
int run_decide(const CommonArgs& common, const DecideArgs& args);
int run_format(const CommonArgs& common, const FormatArgs& args);
int run_plan(const CommonArgs& common, const PlanArgs& args);
int run_schema();  // schema.cpp

// Shared by the subcommands (common.cpp).
struct Loaded {
  std::shared_ptr<const tb::route::RouteConfig> config;
  std::vector<std::string> paths;
};
// Loads, merges and compiles; prints the errors and returns nullopt (exit 78) when the config is
// unusable. Warnings are printed unless quiet.
std::optional<Loaded> load_or_report(const CommonArgs& common, bool quiet_warnings);
tb::route::ConfigSources sources(const CommonArgs& common);
void print_diagnostic(const tb::route::Diagnostic& d);
// NAME=IP[,IP] → resolver entries; false on a malformed entry (message printed).
bool parse_dns_args(const std::vector<std::string>& in, tb::route::StaticResolver& out);
// JSON Lines from `in` (decide, plan): blank lines are skipped; a line that is not a JSON object,
// or that on_record fails, is reported on stderr as "stdin line N: …" and skipped. Returns false
// when any line was reported.
bool read_json_lines(std::istream& in, const std::function<tb::core::Result<void>(const tb::core::Json&)>& on_record);
// Last status record of a file ("-" = stdin) → tailnet.
std::optional<tb::route::TailnetState> read_status_file(const std::string& path);

// The router of explain and decide, with what it points to: the config's rules, the tailnet of
// --status, the --dns answers, and socket owners (netlink sock_diag, else /proc, as sb-relay)
// when find_process.
struct Routing {
  tb::route::StaticResolver dns;
  tb::route::SockDiagProcessSearcher owners;
  tb::route::Router router;
  explicit Routing(std::shared_ptr<const tb::route::RouteConfig> config) : router(std::move(config)) {}
};
// nullptr (message printed) with *exit_code set: kUsage for a bad --dns, kDataErr for a --status
// without a status record.
std::unique_ptr<Routing> make_router(const Loaded& loaded, const std::vector<std::string>& dns,
                                     const std::string& status_file, bool find_process, int* exit_code);

}  // namespace tb::cmd::sb_route
