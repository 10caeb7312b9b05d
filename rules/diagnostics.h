#pragma once
// Problems found while reading config and rule files, collected in one pass and
// printed as `file:line:col: error: message` (lines and columns are 1-based).
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

struct SourcePos {
    std::string file;
    int line = 0;  // 1-based; 0 when unknown
    int col = 0;   // 1-based; 0 when unknown
};

struct Diagnostic {
    enum class Severity { Error, Warning };
    Severity severity = Severity::Error;
    SourcePos pos;
    std::string message;

    // "file:line:col: error: message"
    std::string to_string() const;
};

class Diagnostics {
public:
    void error(const SourcePos& pos, std::string message);
    void warning(const SourcePos& pos, std::string message);
    bool has_errors() const { return errors_ > 0; }
    size_t error_count() const { return errors_; }
    const std::vector<Diagnostic>& items() const { return items_; }
    void append(const Diagnostics& other);
    // Every item, one per line, in the order found.
    std::string to_string() const;

private:
    std::vector<Diagnostic> items_;
    size_t errors_ = 0;
};

// The candidate closest to `word` by edit distance, or "" when none is close
// enough to be a plausible typo. Used for "did you mean" hints.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace vigil
