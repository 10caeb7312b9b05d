// The engine worker's checkpointed state (docs/state.md): what each checkpoint
// adds to the commit, and the restore at start.
//
// Layout in the log's `state` store (key = rule ‖ 0x00 ‖ be32 partition ‖ key):
//  - rule id, partition, "<rule version>:<rule key>" -> the runtime's bytes for
//    that key (patterns/state_codec.h formats);
//  - "$engine", partition, "" -> PartitionEngine::save_state() (no rule id
//    starts with '$').
#include <spdlog/spdlog.h>

#include "daemon/engine_worker.h"
#include "daemon/log_tools.h"
#include "daemon/rate_limit.h"
#include "storage/log.h"

namespace vigil {

namespace {
constexpr const char* kEngineRecord = "$engine";
constexpr size_t kMaxStateKey = 505;  // storage: rule id + 5 + key <= 511 bytes

std::string versioned(const std::string& version, std::string_view key) {
    std::string k = version;
    k += ':';
    k += key;
    return k;
}
}  // namespace

bool EngineWorker::add_state(uint32_t partition, PartitionEngine& engine, CommitBatch& batch, bool moved) {
    bool changed = moved;
    engine.take_state_changes([&](const Rule& r, StateDelta& d) {
        for (auto& k : d.erase) {
            batch.state.push_back(StateChange{r.id, partition, versioned(r.version, k), {}, true});
            changed = true;
        }
        for (auto& [k, v] : d.put) {
            std::string key = versioned(r.version, k);
            if (r.id.size() + key.size() > kMaxStateKey) {
                static RateLimit limit;
                uint64_t held = 0;
                if (limit.allow(held))
                    spdlog::warn("rule {}: a key too long to checkpoint (its state starts empty after a restart)",
                                 r.id);
                continue;
            }
            batch.state.push_back(StateChange{r.id, partition, std::move(key), std::move(v), false});
            changed = true;
        }
    });
    if (changed) batch.state.push_back(StateChange{kEngineRecord, partition, "", engine.save_state(), false});
    return changed;
}

// The engine record of this partition names the rules (id, version) whose keyed
// state is stored; a rule now absent or at another version loses its state.
bool EngineWorker::restore(uint32_t partition, PartitionEngine& engine) {
    std::optional<std::string> bytes = log_.state_get(kEngineRecord, partition, "");
    if (!bytes) return true;  // nothing checkpointed yet
    auto fetch = [&](uint64_t offset) -> EventPtr {
        EventPtr ev;
        log_.scan(partition, offset, 1, [&](const RecordView& r) {
            if (r.offset == offset) ev = event_from_record(r);
            return false;
        });
        return ev;
    };
    std::vector<PartitionEngine::SavedRule> saved;
    size_t lost = 0;
    std::string error;
    if (!engine.restore_state(*bytes, fetch, saved, lost, &error)) {
        spdlog::error("worker: partition {}: stored engine state unusable ({}); starting with empty state",
                      partition, error);
        std::lock_guard lk(mu_);
        ++stats_.state_restore_errors;
        return false;
    }
    if (lost)
        spdlog::warn("worker: partition {}: {} events of the reorder buffer are no longer in the log (retention)",
                     partition, lost);
    CommitBatch cleanup;
    uint64_t keys = 0, bad = 0;
    for (const auto& r : saved) {
        RuleRuntime* rt = engine.runtime_for(r.id, r.version);
        const std::string prefix = r.version + ':';
        Status st = log_.state_scan(r.id, partition, [&](std::string_view key, std::string_view value) {
            if (rt && key.substr(0, prefix.size()) == prefix) {
                std::string err;
                if (rt->restore_key(std::string(key.substr(prefix.size())), value, &err)) {
                    ++keys;
                    return true;
                }
                if (++bad <= 3) spdlog::error("worker: partition {}: rule {}: {}", partition, r.id, err);
            }
            cleanup.state.push_back(StateChange{r.id, partition, std::string(key), {}, true});
            return true;
        });
        if (!st.ok) spdlog::error("worker: partition {}: reading the state of rule {} failed: {}", partition, r.id,
                                  st.error);
    }
    engine.finish_restore(saved);
    if (!cleanup.state.empty()) {
        CommitResult res = log_.commit_batch(std::move(cleanup)).get();
        if (!res.ok) spdlog::error("worker: freeing stale rule state failed: {}", res.error);
    }
    spdlog::info("worker: partition {}: restored {} keyed states of {} rules, {} buffered events", partition, keys,
                 saved.size(), engine.buffered());
    std::lock_guard lk(mu_);
    stats_.restored_keys += keys;
    stats_.state_restore_errors += bad;
    return true;
}

}  // namespace vigil
