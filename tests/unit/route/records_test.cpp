// Records (records.hpp): a decide request read from JSON.

#include <gtest/gtest.h>

#include "libcommon/core/json.hpp"
#include "libcommon/route/records.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

TEST(Records, RequestParsing) {
  EXPECT_TRUE(request_from_json(Json::parse(R"({"destination":"a.test:443"})")));
  EXPECT_TRUE(request_from_json(Json::parse(R"({"destination":{"host":"::1","port":1},"source":"[::1]:2"})")));
  EXPECT_FALSE(request_from_json(Json::parse(R"({"destination":"a.test"})")));
  EXPECT_FALSE(request_from_json(Json::parse(R"({"destination":"a.test:1","source":{"ip":"nope"}})")));
  EXPECT_FALSE(request_from_json(Json::parse(R"({"destination":"a.test:1","network":"sctp"})")));
  EXPECT_FALSE(request_from_json(Json::parse(R"([1])")));
}

}  // namespace
}  // namespace tb::route
