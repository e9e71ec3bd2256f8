#pragma once
// Moving bytes both ways between two connected TCP sockets until both directions end.
// Each direction starts in copy mode (recv into the thread's 16 KiB buffer, send at once; only what
// the peer cannot take right away is kept, at most 16 KiB), which makes short exchanges cheap. A
// read that fills the buffer switches the direction to splice() through its own pipe (zero copy,
// bounded by the pipe, 1 MiB when the kernel allows); without a descriptor for the pipe it keeps copying. Idle
// connections hold no buffer and no pipe. EOF on one side is passed
// on as a half-close (shutdown SHUT_WR); a reset on one side resets the other (SO_LINGER 0).
// The idle timeout is shared by both directions, so a one-way bulk transfer is never idle; bytes
// read or written count, so a slow reader that still takes bytes is not idle either.
// Driven by readiness callbacks: a held connection costs one small object, no coroutine frames.
// Internal header: it includes asio.

#include <chrono>
#include <cstdint>
#include <string>

#include "libcommon/net/io.hpp"

namespace tb::net {

struct PumpResult {
  uint64_t up = 0;    // client → upstream
  uint64_t down = 0;  // upstream → client
  std::string error;  // "idle timeout", "reset by client", …; "" for a clean end
};

awaitable<PumpResult> pump(tcp::socket& client, tcp::socket& upstream, std::chrono::milliseconds idle);

// At most this many splice pipes at once in the process (-1: no limit). The server sets it to what
// RLIMIT_NOFILE leaves once every admitted connection has its two sockets.
void set_pipe_budget(int64_t pipes);

// Closes a socket so that the peer sees a reset (RST), not a FIN.
void reset_socket(tcp::socket& s);

}  // namespace tb::net
