// The login URL as a QR code for a phone camera, drawn with Unicode half blocks: each character
// cell holds two modules (upper and lower). Light modules are drawn, so on the usual dark terminal
// the code reads dark-on-light; a 2-module quiet zone surrounds it.

#include <qrencode.h>

#include "cmd/ts-auth/commands.hpp"

namespace tb::cmd {

std::string render_qr(const std::string& text) {
  QRcode* qr = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_L, QR_MODE_8, 1);
  if (qr == nullptr) return {};
  const int w = qr->width;
  constexpr int kQuiet = 2;
  const int size = w + 2 * kQuiet;
  // Module (x, y) in quiet-zone coordinates; true = dark.
  auto dark = [&](int x, int y) {
    x -= kQuiet;
    y -= kQuiet;
    if (x < 0 || y < 0 || x >= w || y >= w) return false;
    return (qr->data[y * w + x] & 1) != 0;
  };
  std::string out;
  for (int y = 0; y < size; y += 2) {
    for (int x = 0; x < size; ++x) {
      bool top_light = !dark(x, y);
      bool bottom_light = y + 1 < size ? !dark(x, y + 1) : false;
      if (top_light && bottom_light) out += "\u2588";       // █
      else if (top_light) out += "\u2580";                  // ▀
      else if (bottom_light) out += "\u2584";               // ▄
      else out += ' ';
    }
    out += '\n';
  }
  QRcode_free(qr);
  return out;
}

}  // namespace tb::cmd
