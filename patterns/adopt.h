#pragma once
// `state_on_change: keep` (docs/reload.md): when a changed rule (same id, new
// version) may take over the in-memory state of its previous version.
//
// Guarantees: state_compatible() depends only on the two rule definitions, so every
// partition decides the same way; when it returns false, `why_not` names the first
// difference found (e.g. "stage 2 (\"b\") changed its quantifier"). What counts as
// compatible, per body:
//  - all: same body kind, same `stream`, same `key`;
//  - pattern: same stages (names, order, `not`, quantifiers: times, optional,
//    greedy; contiguity and `inner`); conditions (`where`, `until`), `within`,
//    `skip`, `emit`, limits may differ;
//  - window: same type, size, advance, gap, count size/slide, grace and emit_when,
//    same aggregates (name, function and argument text, in order); `having`, `emit`
//    may differ;
//  - lua: always (the per-key state tables and timers are handed over as they are).
// RuleRuntime::adopt_state() (on the new version's runtime) does the hand-over.
// Failure modes: none raised.
#include <string>

#include "rules/rule.h"

namespace vigil {

bool state_compatible(const Rule& from, const Rule& to, std::string& why_not);

}  // namespace vigil
