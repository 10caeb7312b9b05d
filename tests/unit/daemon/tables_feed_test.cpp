// Reference tables in the daemon: config, MQTT messages and files -> rows, and the
// workers' cached view over a real LMDB store (daemon/table_feed.h, table_view.h).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon/config.h"
#include "daemon/table_feed.h"
#include "daemon/table_view.h"
#include "../rules/expr_test_util.h"
#include "../storage/temp_dir.h"

using namespace vigil;

namespace {

TableSpec spec(const std::string& file, std::vector<std::string> keys) {
    TableSpec t;
    t.name = "cards";
    t.file = file;
    for (const auto& k : keys) {
        FieldPath p;
        REQUIRE(FieldPath::parse(k, p, nullptr));
        t.key.push_back(p);
    }
    return t;
}

}  // namespace

TEST_CASE("tables config: history true, false or a duration, and a file table's key must be a field") {
    Diagnostics d;
    auto c = load_config_text(R"(tables:
  a: {topic: "x/+/p", key: "topic[1]", history: true}
  b: {file: b.jsonl, key: id, history: false}
  c: {file: c.csv, key: id, history: 30d}
)",
                              "etc/vigil.yaml", d);
    REQUIRE_MESSAGE(c, d.to_string());
    CHECK(c->tables[0].history_ms == INT64_MAX);
    CHECK(c->tables[1].history_ms == 0);
    CHECK(c->tables[2].history_ms == 30LL * 86'400'000);
    CHECK(c->table_names() == std::vector<std::string>{"a", "b", "c"});
    Diagnostics d2;
    CHECK_FALSE(load_config_text("tables:\n  a: {file: a.jsonl, key: \"topic[1]\"}\n", "v.yaml", d2));
    CHECK_MESSAGE(d2.to_string().find("v.yaml:2:") != std::string::npos, d2.to_string());
    CHECK(d2.to_string().find("error: table \"a\" is read from a file: its key must be a field") != std::string::npos);
}

TEST_CASE("tables feed: a message upserts by its key, an empty payload deletes by a topic key") {
    TableSpec by_field = spec("", {"device"});
    TableSpec by_topic = spec("", {"topic[1]"});
    TableWrite w;
    std::string why;
    REQUIRE(table_write_for_message(by_field, "f/p1/profile", R"( {"device":"p1","m":2} )", w, &why));
    CHECK(w.key == "p1");
    CHECK(w.json == R"({"device":"p1","m":2})");
    CHECK_FALSE(w.erase);
    REQUIRE(table_write_for_message(by_topic, "f/p7/profile", "", w, &why));
    CHECK(w.erase);
    CHECK(w.key == "p7");
    CHECK_FALSE(table_write_for_message(by_field, "f/p7/profile", "", w, &why));
    CHECK(why == "an empty payload deletes a row only when the key comes from the topic");
    CHECK_FALSE(table_write_for_message(by_field, "t", "[1]", w, &why));
    CHECK(why == "a row must be a JSON object");
    CHECK_FALSE(table_write_for_message(by_field, "t", R"({"x":1})", w, &why));
    CHECK(why == "no key (device)");
    CHECK_FALSE(table_write_for_message(by_field, "t", "{nope", w, &why));
    CHECK(why.rfind("not JSON at byte 1", 0) == 0);
}

TEST_CASE("tables feed: JSONL lines, bad lines reported with file:line, the last row of a key wins") {
    std::vector<TableRow> rows;
    std::vector<std::string> problems;
    parse_table_file(spec("/etc/cards.jsonl", {"card_id"}),
                     "{\"card_id\":\"c1\",\"home\":\"DE\"}\n\n{oops\n{\"home\":\"FR\"}\n"
                     "{\"card_id\":7,\"home\":\"IT\"}\r\n{\"card_id\":\"c1\",\"home\":\"AT\"}\n",
                     rows, problems);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].key == "c1");
    CHECK(rows[0].json == R"({"card_id":"c1","home":"AT"})");
    CHECK(rows[1].key == "7");
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].rfind("/etc/cards.jsonl:3: not JSON", 0) == 0);
    CHECK(problems[1] == "/etc/cards.jsonl:4: no key (card_id)");
}

TEST_CASE("tables feed: CSV with a header, typed cells, quotes, and bad lines") {
    std::vector<TableRow> rows;
    std::vector<std::string> problems;
    parse_table_file(spec("m.csv", {"model"}),
                     "model, rated_temp ,vendor,ok,note\n"
                     "P100,80,Acme,true,\n"
                     "\"P200\",95.5,\"Brandt, \"\"B\"\" & Co\",false,\"007\"\n"
                     "P300,1,2\n"
                     "P400,1,x,y,\"open\n",
                     rows, problems);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].json == R"({"model":"P100","rated_temp":80,"vendor":"Acme","ok":true,"note":null})");
    CHECK(rows[1].key == "P200");
    CHECK(rows[1].json == R"({"model":"P200","rated_temp":95.5,"vendor":"Brandt, \"B\" & Co","ok":false,"note":"007"})");
    REQUIRE(problems.size() == 2);
    CHECK(problems[0] == "m.csv:4: 3 cells, the header has 5");
    CHECK(problems[1] == "m.csv:5: unclosed quote");
}

TEST_CASE("tables feed: a file table loads at start and reloads when it changes, bad lines skipped") {
    test::TempDir tmp;
    std::string err;
    auto store = TableStore::open(tmp.path() + "/tables", 16ULL << 20, false, &err);
    REQUIRE_MESSAGE(store, err);
    std::string file = tmp.path() + "/cards.jsonl";
    {
        std::ofstream(file) << "{\"card_id\":\"c1\",\"limit\":500}\nbad\n{\"card_id\":\"c2\",\"limit\":50}\n";
    }
    TableFeeder feeder(*store, {spec(file, {"card_id"})}, MqttOptions{}, 20);
    REQUIRE(feeder.start(&err));
    CHECK(store->size("cards") == 2);
    CHECK(feeder.stats().bad_lines == 1);
    CHECK(feeder.stats().file_loads == 1);
    {
        std::ofstream(file + ".next") << "{\"card_id\":\"c2\",\"limit\":75}\n{\"card_id\":\"c3\",\"limit\":1}\n";
    }
    std::filesystem::rename(file + ".next", file);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (feeder.stats().file_loads < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(feeder.stats().file_loads == 2);
    feeder.stop();
    auto r = store->reader();
    std::string_view v;
    CHECK_FALSE(r->get("cards", "c1", v));
    REQUIRE(r->get("cards", "c2", v));
    CHECK(v == R"({"card_id":"c2","limit":75})");
    CHECK(r->get("cards", "c3", v));
}

TEST_CASE("table view: cached rows until the store changes, misses cached too, as-of for history tables") {
    test::TempDir tmp;
    std::string err;
    auto store = TableStore::open(tmp.path() + "/tables", 16ULL << 20, false, &err);
    REQUIRE_MESSAGE(store, err);
    REQUIRE(store->apply({{"devices", "p1", R"({"t":80})", false, kHistoryForever}}, 1000).ok);
    TableView view(*store);
    CHECK(view.lookup("devices", "p1", kLookupNow)["t"].as_number() == 80);
    CHECK_FALSE(view.lookup("devices", "p2", kLookupNow).valid());
    CHECK(view.lookup("devices", "p1", 5)["t"].as_number() == 80);  // no as-of tables: latest
    CHECK_FALSE(view.lookup("devices", "p2", kLookupNow).valid());
    CHECK(view.reads() == 2);
    view.end_batch();
    CHECK(view.lookup("devices", "p1", kLookupNow).valid());
    CHECK(view.reads() == 2);  // nothing changed: still cached
    REQUIRE(store->apply({{"devices", "p1", R"({"t":95})", false, kHistoryForever}}, 2000).ok);
    CHECK(view.lookup("devices", "p1", kLookupNow)["t"].as_number() == 80);  // same batch: same row
    view.end_batch();
    CHECK(view.lookup("devices", "p1", kLookupNow)["t"].as_number() == 95);

    TableView replay(*store, {"devices"});
    CHECK_FALSE(replay.lookup("devices", "p1", 999).valid());
    CHECK(replay.lookup("devices", "p1", 1500)["t"].as_number() == 80);
    CHECK(replay.lookup("devices", "p1", 2000)["t"].as_number() == 95);
    CHECK(replay.lookup("devices", "p1", kLookupNow)["t"].as_number() == 95);
}

TEST_CASE("table view: table(...).field answers from its field cache as lookup() does, and sees changes") {
    test::TempDir tmp;
    std::string err;
    auto store = TableStore::open(tmp.path() + "/tables", 16ULL << 20, false, &err);
    REQUIRE_MESSAGE(store, err);
    REQUIRE(store
                ->apply({{"devices", "p1", R"({"t":80,"model":"X","limits":{"vib":[1.5,4.5]}})", false, 0},
                         {"devices", "a-key-longer-than-the-slot-holds", R"({"t":70})", false, 0},
                         {"devices", "17", R"({"t":60})", false, 0}},
                        1000)
                .ok);
    TableView view(*store);
    TableScope scope(&view);
    auto ev = test::event(R"({"device":"p1","long":"a-key-longer-than-the-slot-holds","id":17,"temp":85})");
    for (int pass = 0; pass < 2; ++pass) {  // the first pass fills the field caches, the second reads them
        CAPTURE(pass);
        CHECK(test::num(R"(table("devices", device).t)", ev.get()) == 80);
        CHECK(test::str(R"(table("devices", device).model)", ev.get()) == "X");
        CHECK(test::num(R"(table("devices", device).limits.vib[-1])", ev.get()) == 4.5);
        CHECK(test::json(R"(table("devices", device).limits)", ev.get()) == R"({"vib":[1.5,4.5]})");
        CHECK(test::num(R"(table("devices", long).t)", ev.get()) == 70);
        CHECK(test::num(R"(table("devices", id).t)", ev.get()) == 60);
        CHECK(test::test(R"(temp > table("devices", device).t)", ev.get()));
        CHECK(test::eval(R"(table("devices", device).nope)", ev.get()).kind == Value::Kind::Missing);
        CHECK(test::eval(R"(table("devices", "p9").t)", ev.get()).kind == Value::Kind::Missing);
        CHECK_FALSE(test::test(R"(temp > table("devices", "p9").t)", ev.get()));
    }
    CHECK(view.reads() == 4);  // p1, the long key, 17, p9: each read once, by whichever path came first
    REQUIRE(store->apply({{"devices", "p1", R"({"t":95})", false, 0}, {"devices", "p9", R"({"t":1})", false, 0}}, 2000)
                .ok);
    view.end_batch();
    CHECK(test::num(R"(table("devices", device).t)", ev.get()) == 95);
    CHECK(test::eval(R"(table("devices", device).model)", ev.get()).kind == Value::Kind::Missing);
    CHECK(test::num(R"(table("devices", "p9").t)", ev.get()) == 1);

    // A history table (replay's as-of view) answers as of the event's time, not from the field cache.
    REQUIRE(store->apply({{"cards", "c1", R"({"limit":10})", false, kHistoryForever}}, 1000).ok);
    REQUIRE(store->apply({{"cards", "c1", R"({"limit":20})", false, kHistoryForever}}, 2000).ok);
    TableView replay(*store, {"cards"});
    TableScope replay_scope(&replay);
    CHECK(test::num(R"(table("cards", "c1").limit)", test::event("{}", 1500).get()) == 10);
    CHECK(test::num(R"(table("cards", "c1").limit)", test::event("{}", 2500).get()) == 20);
    CHECK(test::eval(R"(table("cards", "c1").limit)", test::event("{}", 500).get()).kind == Value::Kind::Missing);
}

TEST_CASE("table view: thousands of keys, of lengths around what a cache slot holds, each read once") {
    test::TempDir tmp;
    std::string err;
    auto store = TableStore::open(tmp.path() + "/tables", 64ULL << 20, false, &err);
    REQUIRE_MESSAGE(store, err);
    // Keys of 12 to 17 bytes (a slot keeps up to 14 inline), enough to grow the indexes several times.
    auto key_of = [](int i) { return std::string(size_t(i % 6), 'k') + "-dev-" + std::to_string(1000000 + i); };
    std::vector<TableWrite> rows;
    for (int i = 0; i < 3000; ++i)
        rows.push_back({"devices", key_of(i),
                        "{\"t\":" + std::to_string(i) + ",\"m\":\"x" + std::to_string(i) + "\"}", false, 0});
    REQUIRE(store->apply(rows, 1).ok);
    TableView view(*store);
    TableScope scope(&view);
    for (int pass = 0; pass < 2; ++pass) {
        for (int i = 0; i < 3000; i += 2) {
            auto ev = test::event("{\"d\":\"" + key_of(i) + "\"}");
            REQUIRE(test::num(R"(table("devices", d).t)", ev.get()) == i);
            REQUIRE(test::str(R"(table("devices", d).m)", ev.get()) == "x" + std::to_string(i));
        }
    }
    CHECK(view.reads() == 1500);
}

TEST_CASE("table view: a change re-reads only the changed rows, more changes than the log holds drop the cache") {
    test::TempDir tmp;
    std::string err;
    auto store = TableStore::open(tmp.path() + "/tables", 64ULL << 20, false, &err);
    REQUIRE_MESSAGE(store, err);
    REQUIRE(store->apply({{"devices", "p1", R"({"t":1})", false, 0}, {"devices", "p3", R"({"t":3})", false, 0}}, 1).ok);
    TableView view(*store);
    TableScope scope(&view);
    auto p = test::event(R"({"a":"p1","b":"p2","c":"p3","d":"p4"})");
    auto t_of = [&](const char* field) {
        Value v = test::eval(std::string(R"(table("devices", )") + field + ").t", p.get());
        return v.kind == Value::Kind::Number ? v.number : -1.0;
    };
    CHECK(t_of("a") == 1);
    CHECK(t_of("b") == -1);  // a miss, cached too
    CHECK(t_of("c") == 3);
    CHECK(t_of("d") == -1);
    CHECK(view.lookup("devices", "p1", kLookupNow)["t"].as_number() == 1);
    CHECK(view.reads() == 4);

    // p1 changes, p2 appears, p3 goes: three re-reads at the end of the batch, p4 stays cached.
    REQUIRE(store->apply({{"devices", "p1", R"({"t":10})", false, 0}, {"devices", "p2", R"({"t":20})", false, 0},
                          {"devices", "p3", "", true, 0}},
                         2)
                .ok);
    CHECK(t_of("a") == 1);  // the batch keeps its snapshot
    view.end_batch();
    CHECK(view.reads() == 7);
    CHECK(t_of("a") == 10);
    CHECK(t_of("b") == 20);
    CHECK(t_of("c") == -1);
    CHECK(t_of("d") == -1);
    CHECK(view.lookup("devices", "p1", kLookupNow)["t"].as_number() == 10);
    CHECK(view.reads() == 7);
    view.end_batch();  // nothing changed
    CHECK(view.reads() == 7);

    // A file reload of more rows than the change log holds: everything is read again.
    std::vector<TableRow> rows;
    for (size_t i = 0; i <= TableStore::kChangeLog; ++i) rows.push_back({"k" + std::to_string(i), R"({"t":0})"});
    rows.push_back({"p1", R"({"t":100})"});
    REQUIRE(store->replace("devices", rows, 3, 0).ok);
    view.end_batch();
    CHECK(t_of("a") == 100);
    CHECK(t_of("b") == -1);  // not in the file: deleted
    CHECK(view.reads() == 9);
}

// A compiled lookup is resolved to its table and field cache once (by its site
// number), then reused: through many sites sharing the view's 64 memo slots, and
// across a dropped cache (whose field caches the memo pointed to).
TEST_CASE("table view: compiled lookups keep their answers across many sites and a dropped cache") {
    test::TempDir tmp;
    std::string err;
    auto store = TableStore::open(tmp.path() + "/tables", 16ULL << 20, false, &err);
    REQUIRE_MESSAGE(store, err);
    std::vector<TableWrite> rows = {{"devices", "p1", R"({"t":1,"m":2})", false, 0},
                                    {"models", "p1", R"({"t":3,"m":4})", false, 0}};
    REQUIRE(store->apply(rows, 1).ok);
    TableView view(*store, {}, 1);  // at most one cached row: each end_batch() drops the cache
    TableScope scope(&view);
    std::vector<ExprPtr> exprs;
    std::vector<double> want;
    for (int i = 0; i < 100; ++i) {  // 100 sites: several share each memo slot
        const char* table = i % 2 ? "models" : "devices";
        const char* field = i % 3 ? "t" : "m";
        auto c = test::compile(std::string("table(\"") + table + "\", d)." + field);
        REQUIRE(c.expr);
        exprs.push_back(c.expr);
        want.push_back((i % 2 ? 3 : 1) + (i % 3 ? 0 : 1));
    }
    auto ev = test::event(R"({"d":"p1"})");
    EvalContext ctx;
    ctx.event = ev.get();
    for (int round = 0; round < 3; ++round) {
        CAPTURE(round);
        for (size_t i = 0; i < exprs.size(); ++i) CHECK(exprs[i]->eval(ctx).number == want[i]);
        for (size_t i = exprs.size(); i-- > 0;) CHECK(exprs[i]->eval(ctx).number == want[i]);
        view.end_batch();
    }
    REQUIRE(store->apply({{"devices", "p1", R"({"t":10,"m":20})", false, 0}}, 2).ok);
    view.end_batch();
    CHECK(exprs[0]->eval(ctx).number == 20);
    CHECK(exprs[2]->eval(ctx).number == 10);
    CHECK(exprs[1]->eval(ctx).number == 3);
}
