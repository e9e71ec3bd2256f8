#pragma once
// Typed reads of sing-box option values with diagnostics (JSON path + Go-like messages).
// "Listable" values accept one value or an array; null gives an empty list.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/core/time.hpp"
#include "libcommon/route/diagnostic.hpp"
#include "libcommon/route/schema.hpp"

namespace tb::route {

using tb::core::Json;

std::string json_type_name(const Json& v);
std::string key_path(const std::string& parent, const std::string& key);
std::string index_path(const std::string& parent, size_t i);
// A value sing-box reads as if the key were absent: null, false, 0, "", [], {}, or an object whose
// "enabled" is false (the TLS and UDP-over-TCP containers).
bool is_zero(const Json& v);

class Reader {
 public:
  explicit Reader(Diagnostics& d) : d_(d) {}
  void error(const std::string& path, std::string msg, std::string kind = "parse") {
    d_.push_back({Severity::kError, path, std::move(msg), std::move(kind)});
  }
  void warn(const std::string& path, std::string msg, std::string kind) {
    d_.push_back({Severity::kWarning, path, std::move(msg), std::move(kind)});
  }
  // A deprecation sing-box 1.13 makes fatal, one minor release before the removal
  // (experimental/deprecated/stderr.go): an error unless ENABLE_DEPRECATED_<env> is true in the
  // environment (strconv.ParseBool), then a warning, as sing-box.
  void impending(const std::string& path, const std::string& msg, const char* env);
  Diagnostics& diags() { return d_; }

  bool expect_object(const Json& v, const std::string& path);
  std::optional<std::string> string(const Json& v, const std::string& path);
  std::optional<bool> boolean(const Json& v, const std::string& path);
  std::optional<int64_t> integer(const Json& v, const std::string& path, int64_t min, int64_t max,
                                 const char* go_type);
  std::optional<std::vector<std::string>> strings(const Json& v, const std::string& path);  // listable
  std::optional<std::vector<uint16_t>> ports(const Json& v, const std::string& path);      // listable uint16
  // A netfilter mark (sing-box's option.FwMark): a uint32, or a string strconv.ParseUint(s, 0, 32)
  // reads ("0x80000", "0o17", "524288"). Null is 0.
  std::optional<uint32_t> mark(const Json& v, const std::string& path);
  // Duration string ("5m") or, when allow_int, integer seconds.
  std::optional<double> duration_seconds(const Json& v, const std::string& path, bool allow_int);

 private:
  Diagnostics& d_;
};

// A key the schema table reports wherever it holds a value (a kRefused or kWarned key with a
// Key::why): unless `v` is zero, the refusal ("X" (why) is not supported by tailbox) or the
// warning (why) at `path`. false when refused.
bool report_support(const schema::Key* key, const std::string& name, const Json& v, const std::string& path, Reader& rd);

// strconv.ParseUint(text, 0, 32): decimal, or 0x / 0o / 0b / leading-0 octal. The error is Go's
// message ("strconv.ParseUint: parsing \"x\": invalid syntax").
tb::core::Result<uint32_t> parse_fwmark(std::string_view text);

// Go duration ("300ms", "1.5h", "5m", plus "d"), in seconds: the one parser, in core.
using tb::core::parse_go_duration;

}  // namespace tb::route
