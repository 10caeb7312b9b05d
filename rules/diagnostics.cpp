#include "rules/diagnostics.h"

#include <algorithm>

namespace vigil {

std::string Diagnostic::to_string() const {
    std::string s = pos.file.empty() ? std::string("<input>") : pos.file;
    if (pos.line > 0) {
        s += ':' + std::to_string(pos.line);
        if (pos.col > 0) s += ':' + std::to_string(pos.col);
    }
    s += severity == Severity::Error ? ": error: " : ": warning: ";
    s += message;
    return s;
}

void Diagnostics::error(const SourcePos& pos, std::string message) {
    items_.push_back({Diagnostic::Severity::Error, pos, std::move(message)});
    ++errors_;
}

void Diagnostics::warning(const SourcePos& pos, std::string message) {
    items_.push_back({Diagnostic::Severity::Warning, pos, std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
    for (const auto& d : other.items_) {
        items_.push_back(d);
        if (d.severity == Diagnostic::Severity::Error) ++errors_;
    }
}

std::string Diagnostics::to_string() const {
    std::string s;
    for (const auto& d : items_) {
        s += d.to_string();
        s += '\n';
    }
    return s;
}

namespace {
// Optimal string alignment distance: insertions, deletions, substitutions and
// swaps of two neighbouring letters ("hots" -> "host") each cost one.
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}
}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    size_t best_d = SIZE_MAX;
    for (const auto& c : candidates) {
        size_t d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    // A plausible typo: at most a third of the word wrong, and at least one letter right.
    size_t limit = std::max<size_t>(1, std::max(word.size(), best.size()) / 3);
    return best_d <= limit ? best : std::string();
}

}  // namespace vigil
