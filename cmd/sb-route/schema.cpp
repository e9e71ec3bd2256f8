// `sb-route schema`: the table of sing-box keys (libcommon/route/schema.cpp) as JSON Lines, one
// record per key: where it goes, what it holds, and what tailbox does with it.

#include "cmd/sb-route/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/route/schema.hpp"

namespace tb::cmd::sb_route {

namespace {

std::string_view type_name(tb::route::schema::Type t) {
  using T = tb::route::schema::Type;
  switch (t) {
    case T::kString: return "string";
    case T::kBool: return "bool";
    case T::kInt: return "int";
    case T::kMark: return "mark";
    case T::kPort: return "port";
    case T::kDuration: return "duration";
    case T::kListable: return "listable";
    case T::kObject: return "object";
    case T::kList: return "list";
    case T::kAny: return "any";
  }
  return "";
}

}  // namespace

int run_schema() {
  namespace schema = tb::route::schema;
  for (const auto& k : schema::table()) {
    tb::core::Json only = tb::core::Json::array();
    std::string_view rest = k.only;
    while (!rest.empty()) {
      auto sp = rest.find(' ');
      only.push_back(std::string(rest.substr(0, sp)));
      if (sp == std::string_view::npos) break;
      rest.remove_prefix(sp + 1);
    }
    tb::core::Json r;
    r["v"] = 1;
    r["type"] = "key";
    r["section"] = std::string(schema::section_name(k.section));
    r["key"] = std::string(k.name);
    r["value"] = std::string(type_name(k.type));
    r["only"] = only;
    r["support"] = std::string(schema::support_name(k.support));
    r["reason"] = k.why.empty() ? tb::core::Json() : tb::core::Json(std::string(k.why));
    tb::core::emit_record(r);
  }
  return 0;
}

}  // namespace tb::cmd::sb_route
