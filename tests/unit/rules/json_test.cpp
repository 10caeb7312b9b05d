#include <doctest/doctest.h>

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
    };
    for (const auto& b : bad) {
        JsonDoc d;
        std::string err;
        size_t at = 99;
        CHECK_FALSE_MESSAGE(d.parse(b.text, &err, &at), b.text);
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
