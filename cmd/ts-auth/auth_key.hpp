#pragma once
// The node auth key: where it comes from, and how it is kept. The key is a secret: it is never
// printed, logged, put in a child's argv or environment, and its buffers are wiped after use
// (SecretString). Messages that might quote it (a daemon's error) go through redact().

#include <string>
#include <string_view>

#include "libcommon/core/error.hpp"

namespace tb::cmd {

// A string that wipes its bytes when destroyed or cleared. Move-only.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string s) : s_(std::move(s)) {}
  SecretString(SecretString&& o) noexcept : s_(std::move(o.s_)) { o.wipe(); }
  SecretString& operator=(SecretString&& o) noexcept;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  ~SecretString() { wipe(); }

  const std::string& value() const { return s_; }
  bool empty() const { return s_.empty(); }
  void wipe();

 private:
  std::string s_;
};

// Overwrites the bytes of s (including spare capacity) and empties it.
void wipe_string(std::string& s);

// Where the key came from, for messages ("--auth-key-file", "TS_AUTHKEY", …). Never the key.
struct AuthKey {
  SecretString key;
  std::string source;
};

struct KeySources {
  std::string arg;             // --auth-key VALUE: "-" (stdin), "file:PATH" or the key itself
  bool arg_given = false;
  std::string file;            // --auth-key-file PATH
  bool env_scrubbed = false;   // out: TS_AUTHKEY was read and removed from the environment
};

// Reads the key from, in order: --auth-key, --auth-key-file, TS_AUTHKEY ("file:PATH" allowed).
// Returns an empty key (source "") when none is given. TS_AUTHKEY is erased from this process's
// environment (and its bytes overwritten) once read, so no child could inherit it.
// Errors: kUsage (both flags), kDataErr (unreadable file, empty or malformed key).
core::Result<AuthKey> read_auth_key(KeySources& src);

// Checks the key's shape: no whitespace or control characters, not an OAuth client secret.
core::Result<void> validate_key(const std::string& key, const std::string& source);

// Replaces every occurrence of secret in text with "[REDACTED]".
// `secret` replaced by [REDACTED], and any other tskey- token too (so it works once the key is wiped).
std::string redact(std::string text, const std::string& secret);

// Overwrites the argv strings that hold secret (as "--auth-key=KEY" or "KEY") so that
// /proc/PID/cmdline stops showing it. Returns true if anything was scrubbed.
bool scrub_argv(int argc, char** argv, const std::string& secret);

}  // namespace tb::cmd
