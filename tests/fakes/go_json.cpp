// Go's encoding/json as tailscaled speaks it: escaping and indentation of what the fake sends, and
// the decoder's error texts for bodies it refuses.

#include <cctype>
#include <string>

#include "support.hpp"

namespace tb::fake {

namespace {

// encoding/json's wording for a body that is not JSON (what Decode's error text looks like).
// Go's quoteChar (encoding/json scanner errors).
std::string go_quote_char(unsigned char c) {
  if (c == '\'') return "'\\''";
  if (c == '"') return "'\"'";
  static const char* esc[] = {"\\x00", "\\x01", "\\x02", "\\x03", "\\x04", "\\x05", "\\x06", "\\a", "\\b", "\\t", "\\n",
                              "\\v",   "\\f",   "\\r",   "\\x0e", "\\x0f", "\\x10", "\\x11", "\\x12", "\\x13", "\\x14",
                              "\\x15", "\\x16", "\\x17", "\\x18", "\\x19", "\\x1a", "\\x1b", "\\x1c", "\\x1d", "\\x1e",
                              "\\x1f"};
  if (c < 0x20) return std::string("'") + esc[c] + "'";
  if (c == 0x7f) return "'\\x7f'";
  if (c == '\\') return "'\\\\'";
  if (c >= 0x80) {  // string(byte) is the rune U+00XX
    std::string u{static_cast<char>(0xc0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3f))};
    return "'" + u + "'";
  }
  return std::string("'") + static_cast<char>(c) + "'";
}

// What json.NewDecoder(body).Decode(&v) does with the first JSON value of BODY: the scanner's error
// text ("invalid character 'x' looking for beginning of object key string", "unexpected EOF",
// "EOF" for an empty body), else the end of that value. Whatever follows it is never read.
class GoScan {
 public:
  explicit GoScan(const std::string& s) : s_(s) {}
  // true: the first value spans [start, end); false: err holds Go's message.
  bool first_value(size_t& start, size_t& end, std::string& err) {
    ws();
    if (i_ >= s_.size()) {
      err = "EOF";
      return false;
    }
    start = i_;
    if (!value()) {
      err = err_;
      return false;
    }
    end = i_;
    return true;
  }

 private:
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_;
  }
  bool bad(const std::string& where) {
    err_ = i_ >= s_.size() ? "unexpected EOF" : "invalid character " + go_quote_char(s_[i_]) + " " + where;
    return false;
  }
  bool eof() { return i_ >= s_.size() ? (err_ = "unexpected EOF", true) : false; }
  bool value() {
    if (eof()) return false;
    char c = s_[i_];
    if (c == '{') return object();
    if (c == '[') return array();
    if (c == '"') return string();
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    return bad("looking for beginning of value");
  }
  // An object or an array: ITEM repeated, separated by commas, up to CLOSE.
  template <typename Item>
  bool sequence(char close, const char* after_item, Item item) {
    ++i_;
    ws();
    if (eof()) return false;
    if (s_[i_] == close) return ++i_, true;
    for (;;) {
      if (!item()) return false;
      ws();
      if (eof()) return false;
      if (s_[i_] == close) return ++i_, true;
      if (s_[i_] != ',') return bad(after_item);
      ++i_;
      ws();
    }
  }
  bool object() { return sequence('}', "after object key:value pair", [this] { return member(); }); }
  bool member() {
    if (eof()) return false;
    if (s_[i_] != '"') return bad("looking for beginning of object key string");
    if (!string()) return false;
    ws();
    if (eof()) return false;
    if (s_[i_] != ':') return bad("after object key");
    ++i_;
    ws();
    return value();
  }
  bool array() { return sequence(']', "after array element", [this] { return value(); }); }
  bool string() {
    ++i_;
    for (;;) {
      if (eof()) return false;
      unsigned char c = s_[i_];
      if (c == '"') return ++i_, true;
      if (c < 0x20) return bad("in string literal");
      if (c == '\\') {
        ++i_;
        if (eof()) return false;
        char e = s_[i_];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k) {
            ++i_;
            if (eof()) return false;
            if (!std::isxdigit(static_cast<unsigned char>(s_[i_]))) return bad("in \\u hexadecimal character escape");
          }
        } else if (std::string("\"\\/bfnrt").find(e) == std::string::npos) {
          return bad("in string escape code");
        }
      }
      ++i_;
    }
  }
  bool digits() {
    size_t b = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > b;
  }
  bool number() {
    if (s_[i_] == '-') {
      ++i_;
      if (eof()) return false;
      if (!(s_[i_] >= '0' && s_[i_] <= '9')) return bad("in numeric literal");
    }
    if (s_[i_] == '0') ++i_;
    else digits();
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (eof()) return false;
      if (!digits()) return bad("after decimal point in numeric literal");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (eof()) return false;
      if (!digits()) return bad("in exponent of numeric literal");
    }
    return true;
  }
  bool literal(const char* word) {
    for (size_t k = 0; word[k]; ++k, ++i_) {
      if (eof()) return false;
      if (s_[i_] != word[k]) return bad(std::string("in literal ") + word + " (expecting " + go_quote_char(word[k]) + ")");
    }
    return true;
  }

  const std::string& s_;
  size_t i_ = 0;
  std::string err_;
};

const char* go_kind(const Json& v) {
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "bool";
  return "number";
}

}  // namespace

bool go_decode(const std::string& body, const char* go_type, Json& out, std::string& err) {
  size_t start = 0, end = 0;
  GoScan scan(body);
  if (!scan.first_value(start, end, err)) return false;
  try {
    out = Json::parse(body.substr(start, end - start));
  } catch (const Json::exception& e) {  // the scanner let through something nlohmann refuses
    err = e.what();
    return false;
  }
  if (out.is_null()) out = Json::object();
  if (!out.is_object()) {
    err = std::string("json: cannot unmarshal ") + go_kind(out) + " into Go value of type " + go_type;
    return false;
  }
  return true;
}

std::string go_escape(std::string s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xe2' && i + 2 < s.size() && s[i + 1] == '\x80' && (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
      out += s[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}
std::string go_indent(const Json& j) { return go_escape(j.dump(1, '\t', false, Json::error_handler_t::replace)); }
std::string go_compact(const Json& j) { return go_escape(j.dump(-1, ' ', false, Json::error_handler_t::replace)); }

Reply text_reply(int status, const std::string& msg) { return Reply{status, "text/plain; charset=utf-8", msg + "\n"}; }
Reply json_reply(int status, std::string body) { return Reply{status, "application/json", std::move(body)}; }

}  // namespace tb::fake
