// IdlePool: an object given back is taken again under its key only, and the
// idle objects never cost more than the budget (the rest are destroyed).
#include "base/idle_pool.h"

#include <gtest/gtest.h>

#include <memory>

namespace as {
namespace {

// Counts live objects, so the test sees which ones the pool destroyed.
struct Tracked {
  explicit Tracked(int* live, int id) : live(live), id(id) { ++*live; }
  ~Tracked() { --*live; }
  int* live;
  int id;
};

TEST(IdlePool, TakesBackByKeyAndKeepsWithinTheBudget) {
  int live = 0;
  IdlePool<std::unique_ptr<Tracked>> pool(10);
  EXPECT_EQ(pool.Take(1), nullptr) << "empty pool";

  pool.Give(1, 4, std::make_unique<Tracked>(&live, 100));
  pool.Give(2, 4, std::make_unique<Tracked>(&live, 200));
  EXPECT_EQ(live, 2);
  pool.Give(1, 4, std::make_unique<Tracked>(&live, 101));  // 12 > 10: destroyed
  EXPECT_EQ(live, 2);
  pool.Give(3, 2, std::make_unique<Tracked>(&live, 300));  // exactly 10: kept
  EXPECT_EQ(live, 3);

  EXPECT_EQ(pool.Take(4), nullptr) << "no object under that key";
  auto a = pool.Take(2);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->id, 200);
  EXPECT_EQ(pool.Take(2), nullptr) << "taken once";
  // Its cost is free again: a cost-4 object fits now.
  pool.Give(1, 4, std::make_unique<Tracked>(&live, 102));
  EXPECT_EQ(live, 4);
  auto b = pool.Take(1);
  auto c = pool.Take(1);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_NE(b->id, c->id);
  EXPECT_TRUE((b->id == 100 || b->id == 102) && (c->id == 100 || c->id == 102));
  EXPECT_EQ(pool.Take(1), nullptr);
}

// Trimming destroys what has been idle long enough, in every pool, and
// returns the budget it held; what was given back later stays.
TEST(IdlePool, TrimDestroysWhatHasBeenIdleLongEnough) {
  int live = 0;
  IdlePool<std::unique_ptr<Tracked>> a(100), b(100);
  a.Give(1, 10, std::make_unique<Tracked>(&live, 1));
  b.Give(1, 20, std::make_unique<Tracked>(&live, 2));
  EXPECT_EQ(TrimIdlePools(std::chrono::hours(1)), 0u) << "nothing idle for an hour";
  EXPECT_EQ(live, 2);
  const auto cut = IdleClock::now();
  a.Give(2, 30, std::make_unique<Tracked>(&live, 3));  // given back after the cut
  EXPECT_EQ(a.TrimGivenBefore(cut), 10u);
  EXPECT_EQ(live, 2);
  EXPECT_EQ(a.Take(1), nullptr) << "trimmed";
  // (>=: other tests of this process may have left objects in the store's pools)
  EXPECT_GE(TrimIdlePools(std::chrono::seconds(0)), 50u) << "b's and a's later one";
  EXPECT_EQ(live, 0);
  // The budget is free again.
  a.Give(1, 100, std::make_unique<Tracked>(&live, 4));
  EXPECT_EQ(live, 1);
}

}  // namespace
}  // namespace as
