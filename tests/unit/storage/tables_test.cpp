#include <doctest/doctest.h>

#include "storage/tables.h"
#include "temp_dir.h"

using namespace vigil;

namespace {

std::unique_ptr<TableStore> open_store(const test::TempDir& tmp, bool read_only = false) {
    std::string err;
    auto s = TableStore::open(tmp.sub("tables"), 16ULL << 20, read_only, &err);
    INFO(err);
    REQUIRE(s);
    return s;
}

TableWrite upsert(std::string table, std::string key, std::string json, int64_t history = 0) {
    return TableWrite{std::move(table), std::move(key), std::move(json), false, history};
}
TableWrite erase(std::string table, std::string key, int64_t history = 0) {
    return TableWrite{std::move(table), std::move(key), {}, true, history};
}

std::string get(TableStore& s, std::string_view table, std::string_view key) {
    auto r = s.reader();
    std::string_view v;
    return r->get(table, key, v) ? std::string(v) : std::string("<none>");
}

// The row as of time t from the stored versions, as TableView picks it: the newest
// version at or before t ("" = deleted then).
std::string as_of(TableStore& s, std::string_view table, std::string_view key, int64_t t) {
    std::string row = "<none>";
    for (auto& [time, json] : s.reader()->versions(table, key)) {
        if (time > t) break;
        row = json.empty() ? "<none>" : json;
    }
    return row;
}

}  // namespace

TEST_CASE("tables: upsert, get, delete, and tables do not see each other's keys") {
    test::TempDir tmp;
    auto s = open_store(tmp);
    uint64_t g0 = s->generation();
    REQUIRE(s->apply({upsert("devices", "p1", R"({"rated_temp":80})"), upsert("devices", "p2", R"({"rated_temp":90})"),
                      upsert("cards", "p1", R"({"home":"DE"})")},
                     1000)
                .ok);
    CHECK(s->generation() > g0);
    CHECK(get(*s, "devices", "p1") == R"({"rated_temp":80})");
    CHECK(get(*s, "cards", "p1") == R"({"home":"DE"})");
    CHECK(get(*s, "devices", "p3") == "<none>");
    CHECK(get(*s, "device", "sp1") == "<none>");
    CHECK(s->size("devices") == 2);
    REQUIRE(s->apply({upsert("devices", "p1", R"({"rated_temp":85})"), erase("devices", "p2"), erase("devices", "zz")},
                     2000)
                .ok);
    CHECK(get(*s, "devices", "p1") == R"({"rated_temp":85})");
    CHECK(get(*s, "devices", "p2") == "<none>");
    CHECK(s->size("devices") == 1);
    CHECK(s->size("cards") == 1);
}

TEST_CASE("tables: rows survive closing and reopening, also read-only") {
    test::TempDir tmp;
    {
        auto s = open_store(tmp);
        REQUIRE(s->apply({upsert("devices", "p1", R"({"m":1})")}, 5).ok);
    }
    auto ro = open_store(tmp, true);
    CHECK(get(*ro, "devices", "p1") == R"({"m":1})");
    CHECK_FALSE(ro->apply({upsert("devices", "p1", "{}")}, 6).ok);
}

TEST_CASE("tables: a key with a NUL byte is refused and the whole write changes nothing") {
    test::TempDir tmp;
    auto s = open_store(tmp);
    Status st = s->apply({upsert("devices", "ok", "{}"), upsert("devices", std::string("a\0b", 3), "{}")}, 1);
    CHECK_FALSE(st.ok);
    CHECK(st.error.find("EINVAL") != std::string::npos);
    CHECK(get(*s, "devices", "ok") == "<none>");
}

TEST_CASE("tables: history answers as of a time, deletes included") {
    test::TempDir tmp;
    auto s = open_store(tmp);
    REQUIRE(s->apply({upsert("devices", "p1", R"({"v":1})", kHistoryForever)}, 1000).ok);
    REQUIRE(s->apply({upsert("devices", "p1", R"({"v":2})", kHistoryForever)}, 2000).ok);
    REQUIRE(s->apply({erase("devices", "p1", kHistoryForever)}, 3000).ok);
    REQUIRE(s->apply({upsert("devices", "p1", R"({"v":4})", kHistoryForever)}, 4000).ok);
    // Another key sorting right after p1 must not leak into p1's answers.
    REQUIRE(s->apply({upsert("devices", "p10", R"({"v":99})", kHistoryForever)}, 500).ok);
    CHECK(as_of(*s, "devices", "p1", 999) == "<none>");
    CHECK(as_of(*s, "devices", "p1", 1000) == R"({"v":1})");
    CHECK(as_of(*s, "devices", "p1", 1999) == R"({"v":1})");
    CHECK(as_of(*s, "devices", "p1", 2000) == R"({"v":2})");
    CHECK(as_of(*s, "devices", "p1", 3500) == "<none>");
    CHECK(as_of(*s, "devices", "p1", INT64_MAX) == R"({"v":4})");
    CHECK(as_of(*s, "devices", "p0", INT64_MAX) == "<none>");
    CHECK(as_of(*s, "devices", "p10", 600) == R"({"v":99})");
    CHECK(get(*s, "devices", "p1") == R"({"v":4})");
    auto r = s->reader();
    auto v = r->versions("devices", "p1");
    REQUIRE(v.size() == 4);
    CHECK(v[0].first == 1000);
    CHECK(v[2].second.empty());
}

TEST_CASE("tables: a table without history answers nothing as of a time") {
    test::TempDir tmp;
    auto s = open_store(tmp);
    REQUIRE(s->apply({upsert("devices", "p1", R"({"v":1})")}, 1000).ok);
    CHECK(as_of(*s, "devices", "p1", 5000) == "<none>");
    CHECK(get(*s, "devices", "p1") == R"({"v":1})");
}

TEST_CASE("tables: history older than history_ms is pruned but the version at the cutoff stays") {
    test::TempDir tmp;
    auto s = open_store(tmp);
    for (int64_t t : {1000, 2000, 3000, 4000, 10000})
        REQUIRE(s->apply({upsert("devices", "p1", "{\"t\":" + std::to_string(t) + "}", 5000)}, t).ok);
    // Cutoff 10000 - 5000 = 5000: 4000 is the newest version before it and stays.
    auto r = s->reader();
    auto v = r->versions("devices", "p1");
    REQUIRE(v.size() == 2);
    CHECK(v[0].first == 4000);
    CHECK(v[1].first == 10000);
    r->end();
    CHECK(as_of(*s, "devices", "p1", 6000) == R"({"t":4000})");
}

TEST_CASE("tables: replace makes a table hold exactly the given rows") {
    test::TempDir tmp;
    auto s = open_store(tmp);
    REQUIRE(s->apply({upsert("cards", "c1", R"({"home":"DE"})"), upsert("cards", "c2", R"({"home":"FR"})"),
                      upsert("devices", "p1", "{}")},
                     1)
                .ok);
    size_t changed = 0;
    uint64_t g = s->generation();
    REQUIRE(s->replace("cards", {{"c1", R"({"home":"DE"})"}, {"c3", R"({"home":"IT"})"}}, 2, 0, &changed).ok);
    CHECK(changed == 2);  // c3 added, c2 removed; c1 unchanged
    CHECK(s->generation() > g);
    CHECK(get(*s, "cards", "c2") == "<none>");
    CHECK(get(*s, "cards", "c3") == R"({"home":"IT"})");
    CHECK(get(*s, "devices", "p1") == "{}");
    g = s->generation();
    REQUIRE(s->replace("cards", {{"c1", R"({"home":"DE"})"}, {"c3", R"({"home":"IT"})"}}, 3, 0, &changed).ok);
    CHECK(changed == 0);
    CHECK(s->generation() == g);
}

TEST_CASE("tables: a reader keeps its snapshot until end()") {
    test::TempDir tmp;
    auto s = open_store(tmp);
    REQUIRE(s->apply({upsert("devices", "p1", R"({"v":1})")}, 1).ok);
    auto r = s->reader();
    std::string_view v;
    REQUIRE(r->get("devices", "p1", v));
    REQUIRE(s->apply({upsert("devices", "p1", R"({"v":2})")}, 2).ok);
    REQUIRE(r->get("devices", "p1", v));
    CHECK(v == R"({"v":1})");
    r->end();
    REQUIRE(r->get("devices", "p1", v));
    CHECK(v == R"({"v":2})");
}

TEST_CASE("tables: opening read-only where there is no store fails with the folder in the message") {
    test::TempDir tmp;
    std::string err;
    CHECK_FALSE(TableStore::open(tmp.sub("nothing"), 1 << 20, true, &err));
    CHECK(err.find("nothing") != std::string::npos);
}
