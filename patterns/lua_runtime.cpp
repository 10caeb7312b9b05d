// The whole-rule Lua runtime: per-key state tables, ctx callbacks, timers.
#include "patterns/lua_runtime.h"

#include <lua.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "patterns/state_codec.h"
#include "rules/hash.h"
#include "rules/json.h"
#include "rules/lua_host.h"
#include "rules/table_lookup.h"

namespace vigil {

namespace {

constexpr size_t kMaxAlertsPerCall = 100;
constexpr size_t kMaxTimersPerKey = 1000;
constexpr size_t kMaxChainedTimers = 10000;  // timers set and fired within one watermark step
constexpr uint8_t kStateFormat = 1;

LuaRuleRuntime* runtime_of(lua_State* L) {
    return static_cast<LuaRuleRuntime*>(lua_touserdata(L, lua_upvalueindex(1)));
}

bool valid_severity(const char* s) {
    for (const char* v : {"info", "low", "medium", "high", "critical"})
        if (std::strcmp(s, v) == 0) return true;
    return false;
}

// No Lua call may raise while C++ objects live in this frame: kept apart from ctx_emit.
void queue_alert(lua_State* L, LuaRuleRuntime::Call& call, const char* severity) {
    LuaRuleRuntime::Pending p;
    lua_value_to_json(L, 1, p.payload_json);
    if (severity) p.severity = severity;
    call.alerts.push_back(std::move(p));
}

// ctx.emit{field = value, ..., severity = "high"}
int ctx_emit(lua_State* L) {
    LuaRuleRuntime* rt = runtime_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    if (rt->current().alerts.size() >= kMaxAlertsPerCall)
        return luaL_error(L, "ctx.emit: more than %d alerts in one call", static_cast<int>(kMaxAlertsPerCall));
    lua_pushliteral(L, "severity");
    lua_rawget(L, 1);
    const char* severity = nullptr;
    if (!lua_isnil(L, -1)) {
        severity = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        if (!valid_severity(severity))
            return luaL_error(L, "ctx.emit: severity must be one of info, low, medium, high, critical");
    }
    queue_alert(L, rt->current(), severity);
    return 0;
}

int ctx_now(lua_State* L) {
    lua_pushinteger(L, static_cast<lua_Integer>(runtime_of(L)->current().now));
    return 1;
}

int ctx_set_timer(lua_State* L) {
    LuaRuleRuntime* rt = runtime_of(L);
    lua_Integer t = luaL_checkinteger(L, 1);
    const char* err = rt->add_timer(static_cast<int64_t>(t));
    if (err) return luaL_error(L, "ctx.set_timer: %s", err);
    return 0;
}

// ctx.lookup("cards", key): the row of a reference table as a Lua table, or nil
// (no such row or table). As of the current event's time (rules/table_lookup.h).
int ctx_lookup(lua_State* L) {
    size_t tn = 0;
    const char* table = luaL_checklstring(L, 1, &tn);
    const TableLookup* t = current_table_lookup();
    int kt = lua_type(L, 2);
    if (!t || (kt != LUA_TSTRING && kt != LUA_TNUMBER)) {
        lua_pushnil(L);
        return 1;
    }
    size_t kn = 0;
    const char* key = lua_tolstring(L, 2, &kn);  // a number becomes its decimal text (3 -> "3")
    const Event* ev = runtime_of(L)->current().event;
    JsonRef row = t->lookup(std::string_view(table, tn), std::string_view(key, kn), ev ? ev->time : kLookupNow);
    if (row.valid()) {
        lua_push_json(L, row);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

void push_key(lua_State* L, const std::string& key) { lua_pushlstring(L, key.data(), key.size()); }

// Pushes states[key], creating it when absent and `create`; nil otherwise.
void push_state(lua_State* L, int states_ref, const std::string& key, bool create) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, states_ref);
    push_key(L, key);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1) && create) {
        lua_pop(L, 1);
        lua_newtable(L);
        push_key(L, key);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }
    lua_remove(L, -2);
}

struct Invoke {
    int fn_ref, states_ref, ctx_ref;
    const Event* event;  // null: a timer
    const std::string* key;
};

int invoke_tramp(lua_State* L) {
    auto* in = static_cast<Invoke*>(lua_touserdata(L, 1));
    push_key(L, *in->key);  // 2: interned once, used three times
    lua_rawgeti(L, LUA_REGISTRYINDEX, in->fn_ref);
    if (in->event) {
        lua_push_event(L, *in->event);
    } else {
        lua_pushvalue(L, 2);
    }
    // state: states[key], created on first use
    lua_rawgeti(L, LUA_REGISTRYINDEX, in->states_ref);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }
    lua_remove(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, in->ctx_ref);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "key");
    lua_call(L, 3, 0);
    return 0;
}

struct KeyOp {
    int states_ref;
    const std::string* key;
    std::string* out;         // describe / serialize
    std::string* error;
    std::string_view bytes;   // restore
    bool ok = false;
};

int describe_tramp(lua_State* L) {
    auto* op = static_cast<KeyOp*>(lua_touserdata(L, 1));
    push_state(L, op->states_ref, *op->key, false);
    lua_value_to_json(L, -1, *op->out);
    return 0;
}

int serialize_tramp(lua_State* L) {
    auto* op = static_cast<KeyOp*>(lua_touserdata(L, 1));
    push_state(L, op->states_ref, *op->key, false);
    if (lua_isnil(L, -1)) {
        *op->error = "no state for this key";
        return 0;
    }
    op->ok = lua_serialize(L, -1, *op->out, op->error);
    return 0;
}

int restore_tramp(lua_State* L) {
    auto* op = static_cast<KeyOp*>(lua_touserdata(L, 1));
    lua_rawgeti(L, LUA_REGISTRYINDEX, op->states_ref);
    push_key(L, *op->key);
    if (!lua_deserialize(L, op->bytes, op->error)) return 0;
    if (!lua_istable(L, -1)) {
        *op->error = "state bytes do not hold a table";
        return 0;
    }
    lua_rawset(L, -3);
    op->ok = true;
    return 0;
}

int drop_tramp(lua_State* L) {
    auto* op = static_cast<KeyOp*>(lua_touserdata(L, 1));
    lua_rawgeti(L, LUA_REGISTRYINDEX, op->states_ref);
    push_key(L, *op->key);
    lua_pushnil(L);
    lua_rawset(L, -3);
    return 0;
}

struct Setup {
    LuaRuleRuntime* rt;
    int states_ref = LUA_NOREF, ctx_ref = LUA_NOREF, on_event_ref = LUA_NOREF, on_timer_ref = LUA_NOREF;
};

int global_function_ref(lua_State* L, const char* name) {
    lua_getglobal(L, name);
    if (lua_type(L, -1) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

int setup_tramp(lua_State* L) {
    auto* s = static_cast<Setup*>(lua_touserdata(L, 1));
    lua_newtable(L);
    s->states_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 0, 5);
    const luaL_Reg fns[] = {{"emit", ctx_emit},           {"now", ctx_now},
                            {"set_timer", ctx_set_timer}, {"lookup", ctx_lookup},
                            {nullptr, nullptr}};
    lua_pushlightuserdata(L, s->rt);
    luaL_setfuncs(L, fns, 1);
    s->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    s->on_event_ref = global_function_ref(L, "on_event");
    s->on_timer_ref = global_function_ref(L, "on_timer");
    return 0;
}

// emit.payload of the YAML (if any) overlaid by the table given to ctx.emit.
std::string merge_payload(const std::string& yaml_json, const std::string& lua_json) {
    JsonDoc lua;
    if (!lua.parse(lua_json) || !lua.root().is_object()) return "{\"value\":" + lua_json + "}";
    JsonDoc yaml;
    if (yaml_json.empty() || !yaml.parse(yaml_json) || !yaml.root().is_object() || yaml.root().size() == 0)
        return lua_json;
    std::string out = "{";
    JsonRef y = yaml.root(), l = lua.root();
    for (size_t i = 0; i < y.size(); ++i) {
        if (l[y.member_name(i)].valid()) continue;
        if (out.size() > 1) out += ',';
        json_escape(out, y.member_name(i));
        out += ':';
        y.member_value(i).write(out);
    }
    for (size_t i = 0; i < l.size(); ++i) {
        if (out.size() > 1) out += ',';
        json_escape(out, l.member_name(i));
        out += ':';
        l.member_value(i).write(out);
    }
    out += '}';
    return out;
}

}  // namespace

LuaRuleRuntime::LuaRuleRuntime(RulePtr rule, const Clock& clock, std::shared_ptr<LuaHost> host, std::string error)
    : RuleRuntime(std::move(rule), clock),
      host_(std::move(host)),
      last_error_(std::move(error)),
      throttle_(rule_->emit.throttle_ms) {
    if (host_ && !init()) host_.reset();
    if (!host_) spdlog::error("rule {}: Lua runtime disabled: {}", rule_->id, last_error_);
}

LuaRuleRuntime::~LuaRuleRuntime() = default;

bool LuaRuleRuntime::init() {
    Setup s{this};
    if (host_->run(setup_tramp, &s, false) != LuaStatus::Ok) {
        last_error_ = host_->last_error();
        return false;
    }
    if (s.on_event_ref == LUA_NOREF) {
        last_error_ = "lua: a whole-rule Lua body must define function on_event(ev, state, ctx)";
        return false;
    }
    states_ref_ = s.states_ref;
    ctx_ref_ = s.ctx_ref;
    on_event_ref_ = s.on_event_ref;
    on_timer_ref_ = s.on_timer_ref;
    return true;
}

size_t LuaRuleRuntime::state_bytes() const { return host_ ? host_->memory_used() : 0; }

LuaRuleRuntime::KeyEntry& LuaRuleRuntime::touch(const std::string& key) {
    if (tracking_) dirty_.insert(key);
    auto it = keys_.find(key);
    if (it != keys_.end()) {
        lru_.splice(lru_.end(), lru_, it->second.lru);
        return it->second;
    }
    while (!keys_.empty() && keys_.size() >= std::max<uint32_t>(rule_->max_keys, 1)) evict_oldest();
    lru_.push_back(key);
    KeyEntry& e = keys_[key];
    e.lru = std::prev(lru_.end());
    return e;
}

void LuaRuleRuntime::evict_oldest() {
    std::string key = lru_.front();
    if (tracking_) gone_keys_.push_back(key);
    auto it = keys_.find(key);
    for (int64_t t : it->second.timers) timers_.erase({t, key});
    keys_.erase(it);
    lru_.pop_front();
    KeyOp op{states_ref_, &key, nullptr, nullptr, {}};
    host_->run(drop_tramp, &op, false);
    ++counters_.dropped_keys;
}

const char* LuaRuleRuntime::add_timer(int64_t t) {
    if (on_timer_ref_ == LUA_NOREF) return "the rule defines no on_timer(key, state, ctx)";
    if (call_.timer && t <= call_.now) return "a timer set in on_timer must be later than the one being handled";
    KeyEntry& e = keys_.at(*call_.key);
    if (e.timers.size() >= kMaxTimersPerKey && !e.timers.count(t)) return "more than 1000 pending timers for this key";
    e.timers.insert(t);
    timers_.insert({t, *call_.key});
    return nullptr;
}

bool LuaRuleRuntime::invoke(bool timer, const Event* ev, const std::string& key, int64_t now) {
    call_.event = ev;
    call_.key = &key;
    call_.now = now;
    call_.timer = timer;
    call_.alerts.clear();
    Invoke in{timer ? on_timer_ref_ : on_event_ref_, states_ref_, ctx_ref_, ev, &key};
    LuaStatus st = host_->run(invoke_tramp, &in);
    if (st == LuaStatus::Ok) return true;
    call_.alerts.clear();  // a failed call emits nothing
    count_error();
    if (st == LuaStatus::MemoryOverrun) shed_state(key);
    return false;
}

// After a memory overrun, state that outgrew the cap across many keys (rather
// than one call's bomb) is trimmed like max_keys does: least recently used
// keys go until the state uses at most half the cap.
void LuaRuleRuntime::shed_state(const std::string& keep) {
    size_t target = host_->limits().memory_bytes / 2;
    size_t before = counters_.dropped_keys;
    while (host_->memory_used() > target && lru_.size() > 1 && lru_.front() != keep) {
        size_t batch = std::max<size_t>(1, lru_.size() / 8);
        for (size_t i = 0; i < batch && lru_.size() > 1 && lru_.front() != keep; ++i) evict_oldest();
        host_->collect_garbage();
    }
    if (counters_.dropped_keys > before)
        spdlog::warn("rule {}: Lua state reached its memory cap; dropped the state of {} least recently used keys",
                     rule_->id, counters_.dropped_keys - before);
}

void LuaRuleRuntime::count_error() {
    ++counters_.errors;
    last_error_ = host_->last_error();
    uint64_t n = counters_.errors;
    if (n <= 5 || (n & (n - 1)) == 0) spdlog::warn("rule {}: {} ({} errors so far)", rule_->id, last_error_, n);
}

void LuaRuleRuntime::on_event(const EventPtr& ev, AlertSink& out) {
    if (disabled()) return;
    fire_timers(ev->time - 1, out);
    if (disabled()) return;
    ++counters_.evaluations;
    touch(ev->key);
    if (invoke(false, ev.get(), ev->key, ev->time)) emit_pending(ev, ev->key, ev->time, false, out);
}

void LuaRuleRuntime::on_watermark(int64_t watermark, AlertSink& out) {
    if (disabled()) return;
    fire_timers(watermark, out);
}

void LuaRuleRuntime::fire_timers(int64_t up_to, AlertSink& out) {
    size_t budget = timers_.size() + kMaxChainedTimers;
    while (!timers_.empty() && timers_.begin()->first <= up_to && !disabled()) {
        if (budget-- == 0) {
            spdlog::warn("rule {}: timers keep re-arming; stopped after {} in one step", rule_->id,
                         kMaxChainedTimers);
            ++counters_.errors;
            return;
        }
        auto [t, key] = *timers_.begin();
        timers_.erase(timers_.begin());
        KeyEntry& e = touch(key);
        e.timers.erase(t);
        if (invoke(true, nullptr, key, t)) emit_pending(nullptr, key, t, true, out);
    }
}

void LuaRuleRuntime::emit_pending(const EventPtr& ev, const std::string& key, int64_t now, bool timer,
                                  AlertSink& out) {
    std::vector<Pending> pending = std::move(call_.alerts);
    call_.alerts.clear();
    for (size_t i = 0; i < pending.size(); ++i) {
        Alert a;
        a.kind = "lua";
        a.key = key;
        a.time = now;
        if (ev) a.events.push_back({"event", {ev}});
        std::string scratch;
        EvalContext ec;
        ec.event = ev.get();
        ec.lua = host_.get();
        ec.scratch = &scratch;
        finish_alert(*rule_, a, ec, clock_.now_ms());
        a.payload_json = merge_payload(rule_->emit.payload.empty() ? std::string() : a.payload_json,
                                       pending[i].payload_json);
        if (!pending[i].severity.empty()) {
            a.severity = pending[i].severity;
            if (!rule_->emit.topic.empty()) a.topic = render_topic(rule_->emit.topic, a);
        }
        if (timer || i > 0) {
            // finish_alert's id covers rule, version, kind, key and offsets; a timer
            // alert is told apart by its time, the n-th alert of one call by n.
            std::string m = a.id;
            m += '\x1f';
            if (timer) m += "timer:" + std::to_string(now);
            m += '\x1f';
            m += std::to_string(i);
            a.id = hex_digits(stable_hash64(m), 16);
        }
        if (!throttle_.allow(key, a.time)) continue;
        ++counters_.matches;
        out.emit(std::move(a));
    }
}

std::string LuaRuleRuntime::describe_key(const std::string& key) const {
    std::string out = "{\"key\":";
    json_escape(out, key);
    out += ",\"state\":";
    std::string state;
    if (host_ && keys_.count(key)) {
        KeyOp op{states_ref_, &key, &state, nullptr, {}};
        host_->run(describe_tramp, &op, false);
    }
    out += state.empty() ? "null" : state;
    out += ",\"timers\":[";
    if (auto it = keys_.find(key); it != keys_.end()) {
        bool first = true;
        for (int64_t t : it->second.timers) {
            if (!first) out += ',';
            first = false;
            out += std::to_string(t);
        }
    }
    out += "]}";
    return out;
}

std::vector<std::string> LuaRuleRuntime::keys() const { return {lru_.begin(), lru_.end()}; }

bool LuaRuleRuntime::serialize_state(const std::string& key, std::string& out, std::string* error) const {
    std::string err;
    auto it = keys_.find(key);
    if (!host_ || it == keys_.end()) {
        if (error) *error = "no state for this key";
        return false;
    }
    out.clear();
    out.push_back(static_cast<char>(kStateFormat));
    put_varint(out, it->second.timers.size());
    for (int64_t t : it->second.timers) put_zigzag(out, t);
    KeyOp op{states_ref_, &key, &out, &err, {}};
    if (host_->run(serialize_tramp, &op, false) != LuaStatus::Ok) err = host_->last_error();
    if (!op.ok && error) *error = err;
    return op.ok;
}

bool LuaRuleRuntime::restore_state(const std::string& key, std::string_view bytes, std::string* error) {
    std::string err;
    StateReader in(bytes);
    std::vector<int64_t> times;
    if (in.byte() != kStateFormat) in.fail();
    const uint64_t n = in.u();
    if (n > kMaxTimersPerKey) in.fail();
    for (uint64_t i = 0; i < n && in.ok(); ++i) times.push_back(in.i());
    if (!host_ || !in.ok()) {
        if (error) *error = host_ ? "malformed Lua state bytes" : "the rule's Lua is disabled";
        return false;
    }
    KeyOp op{states_ref_, &key, nullptr, &err, bytes.substr(in.pos())};
    if (host_->run(restore_tramp, &op, false) != LuaStatus::Ok) err = host_->last_error();
    if (!op.ok) {
        if (error) *error = err;
        return false;
    }
    KeyEntry& e = touch(key);
    for (int64_t t : e.timers) timers_.erase({t, key});
    e.timers.clear();
    for (int64_t t : times) {
        e.timers.insert(t);
        timers_.insert({t, key});
    }
    return true;
}

std::unique_ptr<RuleRuntime> make_lua_runtime(RulePtr rule, const Clock& clock) {
    std::shared_ptr<LuaHost> host;
    std::string error;
    if (auto* compiled = dynamic_cast<LuaHost*>(rule->lua.get())) {
        host = compiled->clone();
        if (!host) error = "lua: cannot create the rule's Lua state";
    } else if (!rule->lua_source.empty()) {
        Diagnostics diags;
        std::string name = rule->pos.file.empty() ? rule->id : rule->pos.file;
        host = compile_lua(rule->lua_source, name, LuaLimits{}, rule->pos, diags);
        if (!host) error = diags.to_string();
    } else {
        error = "lua: the rule has no Lua source";
    }
    return std::make_unique<LuaRuleRuntime>(std::move(rule), clock, std::move(host), std::move(error));
}

}  // namespace vigil
