// ListObjects pagination (src/s3/listing.h): checked against a direct
// statement of the contract ("the entries after the start, in order, at most
// max-keys") on fixed and random key sets.
#include "s3/listing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace as::s3 {
namespace {

std::vector<ObjectSummary> Objects(const std::vector<std::string>& keys) {
  std::vector<ObjectSummary> out;
  for (const std::string& k : keys) out.push_back({k, k.size(), "etag-" + k, 1000});
  return out;
}

// An entry of a page in order: "K:" + key or "P:" + common prefix.
std::vector<std::string> Entries(const ListPage& p) {
  std::vector<std::pair<std::string, std::string>> all;
  for (const auto& o : p.contents) all.push_back({o.key, "K:" + o.key});
  for (const auto& c : p.common_prefixes) all.push_back({c, "P:" + c});
  std::sort(all.begin(), all.end());
  std::vector<std::string> out;
  for (auto& e : all) out.push_back(e.second);
  return out;
}

// The contract, stated directly: every key with the prefix is an entry,
// either itself or the common prefix it rolls up into; a page holds the
// entries that sort after the start.
std::vector<std::string> Reference(const std::vector<std::string>& keys, const std::string& prefix,
                                   const std::string& delim, const std::string& start) {
  std::map<std::string, std::string> entries;  // sort string -> tagged entry
  for (const std::string& k : keys) {
    if (k.compare(0, prefix.size(), prefix) != 0) continue;
    size_t at = delim.empty() ? std::string::npos : k.find(delim, prefix.size());
    if (at == std::string::npos) {
      entries[k] = "K:" + k;
    } else {
      std::string g = k.substr(0, at + delim.size());
      entries[g] = "P:" + g;
    }
  }
  std::vector<std::string> out;
  for (auto& [s, e] : entries) {
    if (s > start) out.push_back(e);
  }
  return out;
}

// Lists every page from `start`, checking each page's size and truncation.
std::vector<std::string> AllPages(MemoryListSource& src, ListRequest req, size_t* pages = nullptr) {
  std::vector<std::string> out;
  for (size_t n = 0;; ++n) {
    auto page = ListObjectsPage(req, src.AsSource());
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) return out;
    EXPECT_LE(page->key_count(), req.max_keys);
    auto e = Entries(*page);
    out.insert(out.end(), e.begin(), e.end());
    if (!page->is_truncated) {
      EXPECT_TRUE(page->next.empty());
      if (pages) *pages = n + 1;
      return out;
    }
    EXPECT_EQ(page->key_count(), req.max_keys);  // a truncated page is full
    EXPECT_FALSE(page->next.empty());
    // Go through the token as a V2 client would.
    auto start = DecodeContinuationToken(EncodeContinuationToken(page->next));
    EXPECT_TRUE(start.ok());
    req.start = *start;
    if (n > 100000) {
      ADD_FAILURE() << "no end";
      return out;
    }
  }
}

const std::vector<std::string> kKeys = {
    "a.txt",       "dir/x",        "dir/y/1",     "dir/y/2",       "dir/z",
    "dir2/q",      "e/f/g/h",      "e/f/i",       "photos/2024/a", "photos/2024/b",
    "photos/2025", "with space/a", "with space/b", "zz"};

TEST(Listing, NoDelimiter) {
  MemoryListSource src(Objects(kKeys));
  auto page = ListObjectsPage({.max_keys = 1000}, src.AsSource());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->contents.size(), kKeys.size());
  EXPECT_TRUE(page->common_prefixes.empty());
  EXPECT_FALSE(page->is_truncated);
  EXPECT_EQ(page->contents[3].etag, "etag-dir/y/2");
}

TEST(Listing, DelimiterRollUp) {
  MemoryListSource src(Objects(kKeys));
  auto page = ListObjectsPage({.delimiter = "/"}, src.AsSource());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Entries(*page), (std::vector<std::string>{"K:a.txt", "P:dir/", "P:dir2/", "P:e/",
                                                      "P:photos/", "P:with space/", "K:zz"}));
  auto sub = ListObjectsPage({.prefix = "dir/", .delimiter = "/"}, src.AsSource());
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(Entries(*sub), (std::vector<std::string>{"K:dir/x", "P:dir/y/", "K:dir/z"}));
  auto deep = ListObjectsPage({.prefix = "photos/20", .delimiter = "/"}, src.AsSource());
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(Entries(*deep), (std::vector<std::string>{"P:photos/2024/", "K:photos/2025"}));
}

TEST(Listing, PaginationMaxKeysOneEveryEntryOnce) {
  MemoryListSource src(Objects(kKeys));
  for (const char* delim : {"", "/", "y/", "2"}) {
    for (size_t max : {1, 2, 3, 1000}) {
      size_t pages = 0;
      auto got = AllPages(src, {.delimiter = delim, .max_keys = max}, &pages);
      EXPECT_EQ(got, Reference(kKeys, "", delim, "")) << "delim '" << delim << "' max " << max;
      std::set<std::string> unique(got.begin(), got.end());
      EXPECT_EQ(unique.size(), got.size());
    }
  }
}

TEST(Listing, MaxKeysOneRollUpSpanningPages) {
  // A group followed by keys, each page holding one entry: the group must not
  // come back on the page after it.
  std::vector<std::string> keys = {"a/1", "a/2", "a/3", "b", "c/1", "c/2", "d"};
  MemoryListSource src(Objects(keys));
  size_t pages = 0;
  auto got = AllPages(src, {.delimiter = "/", .max_keys = 1}, &pages);
  EXPECT_EQ(got, (std::vector<std::string>{"P:a/", "K:b", "P:c/", "K:d"}));
  EXPECT_EQ(pages, 4u);
}

TEST(Listing, StartPositions) {
  MemoryListSource src(Objects(kKeys));
  // Past the end.
  auto end = ListObjectsPage({.start = "zzz"}, src.AsSource());
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->key_count(), 0u);
  EXPECT_FALSE(end->is_truncated);
  // A key that does not exist, between two that do.
  auto mid = ListObjectsPage({.start = "dir/yz", .max_keys = 2}, src.AsSource());
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(Entries(*mid), (std::vector<std::string>{"K:dir/z", "K:dir2/q"}));
  EXPECT_TRUE(mid->is_truncated);
  EXPECT_EQ(mid->next, "dir2/q");
  // Inside a rolled-up group: the group sorts before the start, so it is skipped.
  auto in_group = ListObjectsPage({.delimiter = "/", .start = "dir/y"}, src.AsSource());
  ASSERT_TRUE(in_group.ok());
  EXPECT_EQ(Entries(*in_group)[0], "P:dir2/");
  // Before the prefix.
  auto before = ListObjectsPage({.prefix = "e/", .start = "a"}, src.AsSource());
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->contents.size(), 2u);
}

TEST(Listing, MaxKeysZero) {
  MemoryListSource src(Objects(kKeys));
  auto page = ListObjectsPage({.max_keys = 0}, src.AsSource());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->key_count(), 0u);
  EXPECT_FALSE(page->is_truncated);
  EXPECT_EQ(src.calls(), 0u);
}

TEST(Listing, SkipsLargeGroupInFewQueries) {
  std::vector<std::string> keys;
  for (int i = 0; i < 20000; ++i) keys.push_back("big/" + std::to_string(100000 + i));
  keys.push_back("small");
  MemoryListSource src(Objects(keys));
  auto page = ListObjectsPage({.delimiter = "/"}, src.AsSource());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Entries(*page), (std::vector<std::string>{"P:big/", "K:small"}));
  EXPECT_LE(src.calls(), 3u);
}

TEST(Listing, AwkwardKeys) {
  std::string long_key = "long/" + std::string(1019, 'x');  // 1024 bytes
  std::vector<std::string> keys = {"caf\xc3\xa9/menu", "caf\xc3\xa9/\xe2\x82\xac",  // café/menu, café/€
                                   "..", "../..", "a b/c d", "a&b<c>\"d'",  "\xf0\x9f\x98\x80",  // 😀
                                   long_key, "long/" + std::string(1019, 'y')};
  MemoryListSource src(Objects(keys));
  for (const char* delim : {"", "/", "."}) {
    for (size_t max : {1, 4}) {
      EXPECT_EQ(AllPages(src, {.delimiter = delim, .max_keys = max}), Reference(keys, "", delim, ""))
          << delim << " " << max;
    }
  }
  auto cafe = ListObjectsPage({.prefix = "caf\xc3\xa9/"}, src.AsSource());
  ASSERT_TRUE(cafe.ok());
  EXPECT_EQ(cafe->contents.size(), 2u);
}

TEST(Listing, GroupKeysBeyondTheSkipStillListOnce) {
  // Not UTF-8 and longer than kMaxKeyBytes: SkipPast cannot jump over these,
  // but they are still skipped one by one and the listing ends.
  std::vector<std::string> keys = {"g/" + std::string(1100, '\xff'),
                                   "g/" + std::string(1100, '\xff') + "x", "h"};
  MemoryListSource src(Objects(keys));
  EXPECT_EQ(AllPages(src, {.delimiter = "/", .max_keys = 1}),
            (std::vector<std::string>{"P:g/", "K:h"}));
}

TEST(Listing, RandomAgainstReference) {
  std::mt19937 rng(20260611);
  const std::vector<std::string> alphabet = {"a", "b", "/", "-", "\xc3\xa9", " "};
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> keys;
    int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      std::string k;
      int len = 1 + static_cast<int>(rng() % 6);
      for (int j = 0; j < len; ++j) k += alphabet[rng() % alphabet.size()];
      keys.push_back(k);
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    MemoryListSource src(Objects(keys));
    const char* prefixes[] = {"", "a", "a/", "b-"};
    const char* delims[] = {"", "/", "-", "a/"};
    std::string prefix = prefixes[rng() % 4], delim = delims[rng() % 4];
    std::string start = rng() % 2 ? "" : keys.empty() ? "b" : keys[rng() % keys.size()];
    if (rng() % 3 == 0) start += "/";
    size_t max = 1 + rng() % 4;
    auto got = AllPages(src, {.prefix = prefix, .delimiter = delim, .start = start, .max_keys = max});
    ASSERT_EQ(got, Reference(keys, prefix, delim, start))
        << "round " << round << " prefix '" << prefix << "' delim '" << delim << "' start '"
        << start << "' max " << max;
  }
}

TEST(Listing, SourceErrorsAndBrokenContracts) {
  ListSource failing = [](const std::string&, const std::string&, size_t) -> Result<std::vector<ObjectSummary>> {
    return Status::IOError("disk on fire");
  };
  EXPECT_EQ(ListObjectsPage({}, failing).status().code(), Code::kIOError);
  ListSource unsorted = [](const std::string&, const std::string&, size_t) -> Result<std::vector<ObjectSummary>> {
    return Objects({"b", "a"});
  };
  EXPECT_EQ(ListObjectsPage({}, unsorted).status().code(), Code::kInternal);
  ListSource stuck = [](const std::string&, const std::string&, size_t limit) -> Result<std::vector<ObjectSummary>> {
    return Objects(std::vector<std::string>(limit, "a"));  // repeats, never advances
  };
  EXPECT_EQ(ListObjectsPage({.max_keys = 1}, stuck).status().code(), Code::kInternal);
  ListSource outside = [](const std::string&, const std::string&, size_t) -> Result<std::vector<ObjectSummary>> {
    return Objects({"q"});
  };
  EXPECT_EQ(ListObjectsPage({.prefix = "p"}, outside).status().code(), Code::kInternal);
}

TEST(Listing, SkipPast) {
  std::string s = SkipPast("ab/");
  EXPECT_EQ(s.size(), kMaxKeyBytes);
  EXPECT_GT(s, "ab/" + std::string(1021, '\xfe'));
  EXPECT_GT(s, std::string("ab/\xf4\x8f\xbf\xbf"));  // the highest code point
  EXPECT_LT(s, "ab0");
  EXPECT_LT(s, "ac");
  EXPECT_EQ(SkipPast(std::string(2000, 'x')).size(), 2001u);
}

TEST(Listing, ParseMaxKeys) {
  EXPECT_EQ(ParseMaxKeys(std::nullopt).value(), 1000u);
  EXPECT_EQ(ParseMaxKeys("0").value(), 0u);
  EXPECT_EQ(ParseMaxKeys("7").value(), 7u);
  EXPECT_EQ(ParseMaxKeys("1000").value(), 1000u);
  EXPECT_EQ(ParseMaxKeys("1001").value(), 1000u);
  EXPECT_EQ(ParseMaxKeys("99999999999999999999999").value(), 1000u);
  for (const char* bad : {"", "-1", "ten", "1.5", " 5", "+5"}) {
    EXPECT_EQ(ParseMaxKeys(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(Listing, ContinuationTokens) {
  for (std::string key : {std::string("a"), std::string("dir/"), std::string("caf\xc3\xa9 x+y&z"),
                          std::string(1024, '\x7f')}) {
    std::string t = EncodeContinuationToken(key);
    EXPECT_EQ(t.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    auto back = DecodeContinuationToken(t);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, key);
  }
  for (const char* bad : {"", "!!!", "Zm9v", "MQ", "a"}) {  // "MQ" = "1" with no position
    EXPECT_EQ(DecodeContinuationToken(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace as::s3
