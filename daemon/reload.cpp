#include "daemon/reload.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "patterns/adopt.h"
#include "rules/rule_loader.h"

namespace vigil {

namespace fs = std::filesystem;

namespace {

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool rule_file_name(std::string_view name) {
    auto ends = [&](std::string_view suf) {
        return name.size() > suf.size() && name.substr(name.size() - suf.size()) == suf;
    };
    return ends(".yaml") || ends(".yml") || ends(".lua");
}

}  // namespace

const char* trigger_name(ReloadTrigger t) {
    switch (t) {
        case ReloadTrigger::Signal: return "sighup";
        case ReloadTrigger::Watcher: return "watcher";
        case ReloadTrigger::Api: return "api";
        case ReloadTrigger::Manual: return "manual";
    }
    return "?";
}

RuleSetPtr load_rules_for(const Config& cfg, std::vector<std::string>& errors, size_t& files) {
    Diagnostics diags;
    std::vector<std::string> tables = cfg.table_names();
    LoadedRules loaded = load_rules({cfg.rules}, cfg.streams, diags, &tables);
    for (const auto& d : diags.items()) {
        if (d.severity == Diagnostic::Severity::Error) errors.push_back(d.to_string());
        else spdlog::warn("{}", d.to_string());
    }
    files = loaded.files.size();
    return diags.has_errors() ? nullptr : loaded.rules;
}

ReloadController::ReloadController(Config running, RuleSetPtr rules, ApplyFn apply)
    : running_(std::move(running)), apply_(std::move(apply)), rules_(std::move(rules)) {
    status_.rules_loaded = rules_ ? rules_->rules.size() : 0;
}

ReloadController::~ReloadController() { stop_watcher(); }

RuleSetPtr ReloadController::rules() const {
    std::lock_guard lk(mu_);
    return rules_;
}

ReloadStatus ReloadController::status() const {
    std::lock_guard lk(mu_);
    return status_;
}

std::string ReloadController::rules_path() const {
    std::lock_guard lk(mu_);
    return running_.rules;
}

ReloadOutcome ReloadController::reload(ReloadTrigger trigger) {
    std::lock_guard serial(reload_mu_);
    auto t0 = std::chrono::steady_clock::now();
    ReloadOutcome out;
    Config running;
    RuleSetPtr old;
    {
        std::lock_guard lk(mu_);
        running = running_;
        old = rules_;
    }

    // The config file again: refused settings keep their running value.
    Diagnostics cdiags;
    auto next_cfg = load_config(running.file, cdiags);
    Config effective = running;
    if (!next_cfg) {
        for (const auto& d : cdiags.items())
            if (d.severity == Diagnostic::Severity::Error) out.errors.push_back(d.to_string());
    } else {
        if (next_cfg->data_dir != running.data_dir) out.refused.push_back("data_dir");
        if (next_cfg->partitions != running.partitions) out.refused.push_back("partitions");
        if (next_cfg->mqtt.client_id != running.mqtt.client_id) out.refused.push_back("mqtt.client_id");
        effective.rules = next_cfg->rules;
        effective.log.level = next_cfg->log.level;
    }

    RuleSetPtr next;
    if (out.errors.empty()) next = load_rules_for(effective, out.errors, out.files);
    out.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);

    if (!next) {
        for (const auto& e : out.errors) spdlog::error("{}", e);
        spdlog::error("reload ({}): {} error(s); the running rules stay", trigger_name(trigger), out.errors.size());
        std::lock_guard lk(mu_);
        status_.failed++;
        status_.last_reload_ms = wall_ms();
        status_.last_ok = false;
        status_.last_errors = out.errors;
        out.rules = status_.rules_loaded;
        return out;
    }

    for (const auto& r : next->rules) {
        const Rule* before = old ? old->find(r->id) : nullptr;
        if (!before) out.added++;
        else if (before->version == r->version) out.unchanged++;
        else {
            out.changed++;
            if (r->state_on_change == StateOnChange::Keep) {
                std::string why;
                if (state_compatible(*before, *r, why))
                    spdlog::info("reload: rule {} changed: state_on_change: keep: its state is kept", r->id);
                else
                    spdlog::warn("reload: rule {} changed: state_on_change: keep, but {}: its state is reset", r->id,
                                 why);
            }
        }
    }
    if (old)
        for (const auto& r : old->rules)
            if (!next->find(r->id)) out.removed++;

    for (const auto& name : out.refused)
        spdlog::error("reload: {} cannot change without a restart; the running value stays", name);
    if (next_cfg && next_cfg->log.level != running.log.level)
        spdlog::set_level(spdlog::level::from_str(next_cfg->log.level));

    apply_(next);
    out.ok = true;
    out.rules = next->rules.size();
    {
        std::lock_guard lk(mu_);
        rules_ = next;
        if (running_.rules != effective.rules) rewatch_ = true;
        running_.rules = effective.rules;
        running_.log.level = effective.log.level;
        status_.ok++;
        status_.last_reload_ms = wall_ms();
        status_.last_success_ms = status_.last_reload_ms;
        status_.last_ok = true;
        status_.last_errors.clear();
        status_.refused = out.refused;
        status_.rules_loaded = out.rules;
    }
    if (rewatch_ && wake_fd_ >= 0) {
        uint64_t one = 1;
        (void)!::write(wake_fd_, &one, sizeof one);
    }
    spdlog::info("reload ({}): {} rules from {} files ({} added, {} changed, {} removed, {} unchanged) in {} ms",
                 trigger_name(trigger), out.rules, out.files, out.added, out.changed, out.removed, out.unchanged,
                 out.duration.count());
    return out;
}

// --- the watcher ---------------------------------------------------------------

bool ReloadController::add_watches(const std::string& path) {
    constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ONLYDIR;
    std::error_code ec;
    fs::path root(path);
    if (!fs::is_directory(root, ec)) root = root.parent_path().empty() ? fs::path(".") : root.parent_path();
    auto add = [&](const fs::path& dir) {
        int wd = inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
        if (wd >= 0) watched_[wd] = dir.string();
        return wd >= 0;
    };
    if (!add(root)) return false;
    for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec))
        if (it->is_directory(ec)) add(it->path());
    return true;
}

bool ReloadController::start_watcher(std::string* error, std::chrono::milliseconds debounce) {
    inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (inotify_fd_ < 0 || wake_fd_ < 0) {
        if (error) *error = std::string("inotify: ") + std::strerror(errno);
        stop_watcher();
        return false;
    }
    // Watches exist before this returns: no change after it is missed.
    if (!add_watches(rules_path())) spdlog::error("reload: cannot watch {}: {}", rules_path(), std::strerror(errno));
    watcher_ = std::thread([this, debounce] { watch_loop(debounce); });
    return true;
}

void ReloadController::stop_watcher() {
    if (watcher_.joinable()) {
        uint64_t stop = uint64_t{1} << 32;
        (void)!::write(wake_fd_, &stop, sizeof stop);
        watcher_.join();
    }
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    inotify_fd_ = wake_fd_ = -1;
}

void ReloadController::watch_loop(std::chrono::milliseconds debounce) {
    using Clock = std::chrono::steady_clock;
    bool pending = false;
    Clock::time_point due{};
    alignas(inotify_event) char buf[16 * 1024];
    for (;;) {
        int timeout = -1;
        if (pending) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now()).count();
            timeout = static_cast<int>(std::max<int64_t>(0, left));
        }
        pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        int n = ::poll(fds, 2, timeout);
        if (n < 0 && errno != EINTR) break;
        if (fds[1].revents & POLLIN) {
            uint64_t v = 0;
            if (::read(wake_fd_, &v, sizeof v) == sizeof v && v >= (uint64_t{1} << 32)) break;
            if (rewatch_.exchange(false)) {
                for (const auto& [wd, dir] : watched_) inotify_rm_watch(inotify_fd_, wd);
                watched_.clear();
                add_watches(rules_path());
            }
        }
        if (fds[0].revents & POLLIN) {
            ssize_t len;
            while ((len = ::read(inotify_fd_, buf, sizeof buf)) > 0) {
                for (char* p = buf; p < buf + len;) {
                    auto* ev = reinterpret_cast<inotify_event*>(p);
                    p += sizeof(inotify_event) + ev->len;
                    std::string_view name = ev->len ? std::string_view(ev->name) : std::string_view();
                    bool relevant = (ev->mask & IN_Q_OVERFLOW) != 0;
                    if (ev->mask & IN_ISDIR) {
                        relevant = true;
                        auto it = watched_.find(ev->wd);
                        if (it != watched_.end() && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
                            add_watches(it->second + "/" + std::string(name));
                    } else if (rule_file_name(name)) {
                        relevant = true;
                    }
                    if (ev->mask & IN_IGNORED) watched_.erase(ev->wd);
                    if (relevant) {
                        pending = true;
                        due = Clock::now() + debounce;
                    }
                }
            }
        }
        if (pending && Clock::now() >= due) {
            pending = false;
            reload(ReloadTrigger::Watcher);
        }
    }
    for (const auto& [wd, dir] : watched_) inotify_rm_watch(inotify_fd_, wd);
    watched_.clear();
}

}  // namespace vigil
