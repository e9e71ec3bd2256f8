#pragma once
// The one place that knows the asio version (1.22 on Debian 12). Moving past 1.23, where
// as_tuple left `experimental`, is a change to this file only. Include it from .cpp files only:
// asio costs seconds per translation unit.

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

namespace tb::net {

using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

// co_await op(..., use_tuple) → std::tuple<error_code, T...>: errors are values inside sessions.
inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace tb::net
