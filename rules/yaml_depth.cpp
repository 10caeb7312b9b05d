// A cheap scan of YAML text for its nesting depth, run before yaml-cpp parses it:
// yaml-cpp 0.7 recurses once per level of nesting and overflows the stack on very
// deep input (`[[[[...`, `- - - - ...`, thousands of indentation levels).
//
// The scan over-estimates rather than under-estimates: block depth = the number of
// open indentation levels + the `- ` / `? ` / `key: ` indicators that open nested
// nodes on one line; flow depth = open `[` / `{` of flow collections (outside
// quoted scalars and comments). Block scalars (`|`, `>`) and plain scalars are
// skipped. Real rule and config files stay far below the limit.
#include "rules/yaml_depth.h"

#include <vector>

namespace vigil {

namespace {

bool blank(char c) { return c == ' ' || c == '\t'; }
bool flow_indicator(char c) { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'; }

struct Scanner {
    Scanner(std::string_view text, int max) : t(text), max_depth(max) {}
    std::string_view t;
    int max_depth;
    size_t i = 0;
    int line = 1;
    size_t line_start = 0;
    int flow = 0;        // open flow collections
    char quote = 0;      // inside a quoted scalar that spans lines
    int block_base = 0;  // block depth of the line where the current flow collection opened
    std::vector<size_t> indents;
    YamlDepthError err;

    bool fail(int depth) {
        err.line = line;
        err.col = static_cast<int>(i - line_start + 1);
        err.depth = depth;
        return false;
    }
    char at(size_t k) const { return k < t.size() ? t[k] : '\n'; }
    void next_line() {
        while (i < t.size() && t[i] != '\n') ++i;
        if (i < t.size()) ++i;
        ++line;
        line_start = i;
    }
    // Inside a quoted scalar; stops after its closing quote or at the end of the line.
    void skip_quoted() {
        while (i < t.size() && t[i] != '\n') {
            char c = t[i++];
            if (quote == '"' && c == '\\') {
                if (i < t.size() && t[i] != '\n') ++i;
            } else if (c == quote) {
                if (quote == '\'' && at(i) == '\'') {
                    ++i;
                    continue;
                }
                quote = 0;
                return;
            }
        }
    }
    // Flow context: brackets, quotes, comments, until the line ends.
    bool scan_flow() {
        while (i < t.size() && t[i] != '\n') {
            if (quote) {
                skip_quoted();
                continue;
            }
            char c = t[i];
            if (c == '#' && (i == line_start || blank(t[i - 1]))) return true;  // comment: rest of the line
            if (c == '"' || c == '\'') {
                quote = c;
                ++i;
                continue;
            }
            if (c == '[' || c == '{') {
                if (++flow + block_base > max_depth) return fail(flow + block_base);
            } else if ((c == ']' || c == '}') && flow > 0) {
                if (--flow == 0) {
                    ++i;
                    return true;  // back in block context: the rest is a comment or garbage
                }
            }
            ++i;
        }
        return true;
    }
    // Skips `&anchor`, `!tag` properties and blanks.
    void skip_properties() {
        for (;;) {
            while (blank(at(i))) ++i;
            if (at(i) != '&' && at(i) != '!') return;
            while (i < t.size() && !blank(t[i]) && t[i] != '\n' && !(flow && flow_indicator(t[i]))) ++i;
        }
    }
    // Is there a `key:` (a colon followed by a blank or the end of the line) ahead on this plain line?
    size_t key_colon() const {
        for (size_t k = i; k < t.size() && t[k] != '\n'; ++k) {
            if (t[k] == '#' && k > i && blank(t[k - 1])) return std::string_view::npos;
            if (t[k] == ':' && (blank(at(k + 1)) || at(k + 1) == '\n')) return k;
        }
        return std::string_view::npos;
    }
    bool block_scalar_header() const {
        size_t k = i + 1;
        while (k < t.size() && (t[k] == '-' || t[k] == '+' || (t[k] >= '0' && t[k] <= '9'))) ++k;
        while (blank(at(k))) ++k;
        return at(k) == '\n' || at(k) == '#';
    }
    bool scan() {
        bool in_block_scalar = false;
        size_t block_scalar_indent = 0;
        while (i < t.size()) {
            if (flow) {  // a flow collection that spans lines
                if (!scan_flow()) return false;
                next_line();
                continue;
            }
            if (quote) {  // a quoted block scalar that spans lines: the rest of its last line is ignored
                skip_quoted();
                next_line();
                continue;
            }
            size_t indent = 0;
            while (at(i + indent) == ' ') ++indent;
            char first = at(i + indent);
            bool empty = first == '\n' || first == '\r' || first == '#';
            if (in_block_scalar) {
                if (empty || indent > block_scalar_indent || first == '\n') {
                    next_line();
                    continue;
                }
                in_block_scalar = false;
            }
            if (empty) {
                next_line();
                continue;
            }
            if (indent == 0 && (t.substr(i, 3) == "---" || t.substr(i, 3) == "...")) indents.clear();
            while (!indents.empty() && indents.back() > indent) indents.pop_back();
            if (indents.empty() || indents.back() < indent) indents.push_back(indent);
            int depth = static_cast<int>(indents.size());
            i += indent;
            // Indicators that open a nested node on the same line: `- `, `? `, `key: `.
            for (;;) {
                skip_properties();
                char c = at(i);
                if ((c == '-' || c == '?' || c == ':') && (blank(at(i + 1)) || at(i + 1) == '\n')) {
                    if (++depth > max_depth) return fail(depth);
                    i += 1;
                    continue;
                }
                if (c == '[' || c == '{') {
                    block_base = depth;
                    if (!scan_flow()) return false;
                    break;
                }
                if (c == '"' || c == '\'') {
                    quote = c;
                    ++i;
                    skip_quoted();
                    if (quote) break;  // spans lines
                    while (blank(at(i))) ++i;
                    if (at(i) == ':' && (blank(at(i + 1)) || at(i + 1) == '\n')) continue;  // a quoted key
                    break;
                }
                if (c == '|' || c == '>') {
                    if (block_scalar_header()) {
                        in_block_scalar = true;
                        block_scalar_indent = indent;
                    }
                    break;
                }
                if (c == '\n' || c == '#') break;
                // A plain scalar: a key when a `: ` follows on the line, else a value.
                size_t colon = key_colon();
                if (colon == std::string_view::npos) break;
                i = colon;  // the `:` is counted as an indicator above
            }
            next_line();
        }
        return true;
    }
};

}  // namespace

bool check_yaml_depth(std::string_view text, int max_depth, YamlDepthError& err) {
    Scanner s(text, max_depth);
    if (s.scan()) return true;
    err = s.err;
    return false;
}

}  // namespace vigil
