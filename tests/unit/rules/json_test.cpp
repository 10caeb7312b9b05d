#include <doctest/doctest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include "rules/json.h"

using namespace vigil;

TEST_CASE("json: parses every value kind and reads members by name and index") {
    JsonDoc d;
    REQUIRE(d.parse(R"({"a":1.5,"b":"x\"y\u00e9","c":[true,false,null,{"d":-2e3}],"e":{}})"));
    auto r = d.root();
    CHECK(r.is_object());
    CHECK(r.size() == 4);
    CHECK(r["a"].as_number() == 1.5);
    CHECK(r["b"].as_string() == "x\"y\xc3\xa9");
    CHECK(r["c"].size() == 4);
    CHECK(r["c"].at(0).as_bool());
    CHECK(r["c"].at(2).is_null());
    CHECK(r["c"].at(3)["d"].as_number() == -2000);
    CHECK(r["e"].is_object());
    CHECK_FALSE(r["missing"].valid());
    CHECK_FALSE(r["c"].at(9).valid());
    CHECK(r.member_name(3) == "e");
}

TEST_CASE("json: the document keeps its text, the one copy an event's payload is read from") {
    JsonDoc d;
    std::string text = R"( {"s":"a\"b","n":[1,2]} )";
    REQUIRE(d.parse(text));
    text.assign(text.size(), 'x');  // the document owns its copy
    CHECK(d.text() == R"( {"s":"a\"b","n":[1,2]} )");
    CHECK(d.root()["s"].as_string() == "a\"b");  // decoded after the text, which stays as it was
    JsonDoc copy = d;
    d.clear();
    CHECK(d.text().empty());
    CHECK(copy.text() == R"( {"s":"a\"b","n":[1,2]} )");
    CHECK(copy.root()["n"].at(1).as_number() == 2);
    // A shorter text parsed into a used document: only the new text.
    REQUIRE(copy.parse("{}"));
    CHECK(copy.text() == "{}");
    // A failed parse and a document built by hand have no text.
    CHECK_FALSE(copy.parse(R"({"a":)"));
    CHECK(copy.text().empty());
    JsonDoc built;
    built.begin_object();
    built.key("k");
    built.string_value("v");
    built.end();
    CHECK(built.text().empty());
    CHECK(built.root().dump() == R"({"k":"v"})");
}

TEST_CASE("json: a value read as another kind gives 0, false or empty, whatever its bytes") {
    // A node's number, string place and container size share bytes (JsonDoc::Node):
    // reading the wrong one must not show another kind's bits.
    JsonDoc d;
    REQUIRE(d.parse(R"({"s":"abcdefgh","n":-1.5e300,"a":[1,2,3],"o":{"x":1},"t":true})"));
    auto r = d.root();
    CHECK(r["s"].as_number() == 0);
    CHECK(r["a"].as_number() == 0);
    CHECK(r["o"].as_number() == 0);
    CHECK(r["t"].as_number() == 0);
    CHECK(r["n"].as_string().empty());
    CHECK(r["a"].as_string().empty());
    CHECK_FALSE(r["n"].as_bool());
    CHECK(r["n"].size() == 0);
    CHECK(r["s"].size() == 0);
    CHECK(r["a"].size() == 3);
    CHECK(r["o"].size() == 1);
    CHECK(r["n"].as_number() == -1.5e300);
    CHECK(r["s"].as_string() == "abcdefgh");
}

TEST_CASE("json: writes back compact JSON, integers without a fraction") {
    JsonDoc d;
    REQUIRE(d.parse(R"( { "n" : 3.0 , "s" : "a\nb" , "l" : [ 1 , 2.25 ] } )"));
    CHECK(d.root().dump() == R"({"n":3,"s":"a\nb","l":[1,2.25]})");
}

TEST_CASE("json: errors name the byte offset and the reason") {
    struct Bad {
        const char* text;
        size_t offset;
        const char* message;
    };
    const Bad bad[] = {
        {"", 0, "unexpected end of input"},
        {"{\"a\":1,}", 7, "expected a member name in quotes"},
        {"{\"a\" 1}", 5, "expected ':' after member name"},
        {"[1 2]", 3, "expected ',' or ']' in array"},
        {"\"abc", 4, "unterminated string"},
        {"tru", 0, "invalid literal"},
        {"{} x", 3, "unexpected text after the JSON value"},
        {"\"\\q\"", 2, "invalid escape in string"},
        {"-", 0, "expected a JSON value"},
        {"--1", 0, "expected a JSON value"},
        {"[1.5.3]", 1, "invalid number"},
        {"[1e]", 1, "invalid number"},
        {"[1-2]", 1, "invalid number"},
        {"[12345678901234567.5.]", 1, "invalid number"},
        {"[1x]", 2, "expected ',' or ']' in array"},
        {"[1e400]", 1, "number out of range"},
        {"[-1e999999999999]", 1, "number out of range"},
    };
    for (const auto& b : bad) {
        JsonDoc d;
        std::string err;
        size_t at = 99;
        CHECK_FALSE_MESSAGE(d.parse(b.text, &err, &at), std::string(b.text));
        CHECK_MESSAGE(err == b.message, b.text);
        CHECK_MESSAGE(at == b.offset, b.text);
        CHECK(d.empty());
    }
}

TEST_CASE("json: nesting deeper than the limit is refused, not a stack overflow") {
    std::string deep(1000, '[');
    JsonDoc d;
    std::string err;
    CHECK_FALSE(d.parse(deep, &err));
    CHECK(err == "nesting too deep");
}

TEST_CASE("json: building a document by hand and copying values between documents") {
    JsonDoc src;
    REQUIRE(src.parse(R"({"x":[1,{"y":"z"}]})"));
    JsonDoc d;
    d.begin_object();
    d.key("n");
    d.number_value(7);
    d.key("copy");
    d.copy_value(src.root()["x"]);
    d.key("t");
    d.bool_value(true);
    d.end();
    CHECK(d.root().dump() == R"({"n":7,"copy":[1,{"y":"z"}],"t":true})");
    CHECK(d.root().size() == 3);
}

TEST_CASE("json: a number too small for a double is 0 with its sign, as JSON readers take it") {
    JsonDoc d;
    REQUIRE(d.parse("[1e-400,-1e-400,2.5e-324,1e-310,0.0000001e-999999999]"));
    CHECK(d.root().at(0).as_number() == 0);
    CHECK_FALSE(std::signbit(d.root().at(0).as_number()));
    CHECK(std::signbit(d.root().at(1).as_number()));
    CHECK(d.root().at(2).as_number() > 0);  // the smallest denormal, not 0
    CHECK(d.root().at(3).as_number() == 1e-310);
    CHECK(d.root().at(4).as_number() == 0);
}

// Numbers of at most 15 digits without an exponent take a fast path in the parser
// (rules/json.cpp, JsonParser::number); it must give the very doubles from_chars gives,
// for edge cases and for random numbers of every digit count and fraction length.
TEST_CASE("json: the number fast path gives the same doubles as from_chars") {
    auto same = [](const std::string& text) {
        JsonDoc d;
        REQUIRE_MESSAGE(d.parse(text), text);
        double want = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), want);
        REQUIRE(ec == std::errc());
        double got = d.root().as_number();
        // The same number inside a document, with bytes after it (the digits are read
        // eight at a time where eight bytes remain).
        JsonDoc in;
        REQUIRE_MESSAGE(in.parse("[" + text + ",12345678]"), text);
        double inside = in.root().at(0).as_number();
        return std::memcmp(&got, &want, sizeof got) == 0 && std::memcmp(&inside, &want, sizeof got) == 0 &&
               in.root().at(1).as_number() == 12345678;  // bitwise: -0 and 0 differ
    };
    for (const char* t : {"0", "-0", "0.0", "-0.0", "1", "0.1", "0.3", "2.675", "123456789012345", "999999999999999",
                          "9999999999999999", "0.000000000000001", "1.00000000000001", "-12345678.9012345",
                          "1700000000123", "9007199254740993", "1e3", "1.5E-3", "12345678901234567890.5", "00012",
                          "-1.25e+2", "1E2", "123456789012345.5", "12345678", "87654321.5", "123456789", "99999999e2",
                          "1234567"})
        CHECK_MESSAGE(same(t), t);
    std::mt19937_64 rng(42);
    for (int i = 0; i < 200000; ++i) {
        int digits = 1 + static_cast<int>(rng() % 17);
        int frac = static_cast<int>(rng() % static_cast<uint64_t>(digits));
        std::string t = rng() % 2 ? "-" : "";
        t.push_back(static_cast<char>('1' + rng() % 9));
        for (int k = 1; k < digits; ++k) {
            if (k == digits - frac) t.push_back('.');
            t.push_back(static_cast<char>('0' + rng() % 10));
        }
        if (!same(t)) FAIL_CHECK(t);
    }
}

// Strings are scanned eight bytes a step: a quote, backslash or control character
// at each offset of a string of each length from 0 to 40 must stop the scan exactly there.
TEST_CASE("json: strings of every length, with an escape or a bad byte at every offset") {
    JsonDoc d;
    for (size_t len = 0; len <= 40; ++len) {
        std::string plain(len, 'x');
        for (size_t k = 0; k < len; ++k) plain[k] = static_cast<char>('a' + k % 26);
        REQUIRE(d.parse("[\"" + plain + "\",\"" + plain + "\xc3\xa9\"]"));
        CHECK(d.root().at(0).as_string() == plain);
        CHECK(d.root().at(1).as_string() == plain + "\xc3\xa9");  // bytes >= 0x80 are plain bytes
        for (size_t k = 0; k <= len; ++k) {
            std::string head = plain.substr(0, k), tail = plain.substr(k);
            REQUIRE_MESSAGE(d.parse("{\"" + head + "\\\"" + tail + "\":\"" + head + "\\\\" + tail + "\\u0041\"}"),
                            len << " " << k);
            JsonRef m(&d, 2);  // the member's value (node 1 is its name)
            CHECK(d.str(d.node(1)) == head + "\"" + tail);
            CHECK(m.as_string() == head + "\\" + tail + "A");
            std::string error;
            size_t at = 0;
            CHECK_FALSE(d.parse("\"" + head + "\n" + tail + "\"", &error, &at));
            CHECK(error == "control character in string");
            CHECK(at == k + 1);
            CHECK_FALSE(d.parse("\"" + head, &error, &at));
            CHECK(error == "unterminated string");
        }
    }
}
