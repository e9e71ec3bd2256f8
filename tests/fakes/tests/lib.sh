# shellcheck shell=bash disable=SC2034,SC2154  # $t comes from tests/cli/lib.sh; api and code are for the tests
# Sourced by the fake's own tests (tests/fakes/tests/*.sh: they check the stand-in itself against
# docs/localapi.md; the ctest glob skips this file). The helpers of tests/cli/lib.sh, curl and jq
# (else skip), and raw Local API requests to the fake:
#
#   api                         the Local API's base URL (Host: local-tailscaled.sock)
#   code CURL-ARGS...           one request to the fake's Local API; prints the HTTP status, the body
#                               is in $t/body
. "$(dirname "${BASH_SOURCE[0]}")/../../cli/lib.sh"
command -v curl >/dev/null || skip "curl missing"
command -v jq >/dev/null || skip "jq missing"
api=http://local-tailscaled.sock/localapi/v0
code() { curl -sS -o "$t/body" -w '%{http_code}' --unix-socket "$FAKE_SOCK" "$@"; }
