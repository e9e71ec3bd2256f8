#pragma once
// Aligned text tables for people, like Go's tabwriter as `tailscale status` uses it: columns padded
// with two spaces, widths counted in code points (names like "Paweł" stay aligned). Cells may carry
// ANSI colour; escape sequences do not count toward the width.

#include <string>
#include <vector>

namespace tb::core {

class Table {
 public:
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  // Renders every row; the last column is not padded, so lines carry no trailing blanks.
  std::string render(size_t padding = 2) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::vector<std::string>> rows_;
};

size_t display_width(const std::string& s);

}  // namespace tb::core
