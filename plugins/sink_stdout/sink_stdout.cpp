#include "plugins/sink_stdout/sink_stdout.h"

#include <cstdio>
#include <mutex>

namespace vigil {

namespace {

class SinkStdout : public Sink {
public:
    explicit SinkStdout(const SinkContext& ctx) : ctx_(ctx) {}
    ~SinkStdout() override { stop(); }

    bool start(std::string* error) override {
        if (ctx_.file.empty()) {
            out_ = stdout;
            return true;
        }
        out_ = std::fopen(ctx_.file.c_str(), "a");
        if (!out_ && error) *error = "cannot open " + ctx_.file + " for appending";
        return out_ != nullptr;
    }

    void stop() override {
        std::lock_guard lk(mu_);
        if (out_ && out_ != stdout) std::fclose(out_);
        out_ = nullptr;
    }

    bool send(const OutgoingAlert& a) override {
        {
            std::lock_guard lk(mu_);
            if (!out_) return false;
            std::fwrite(a.json.data(), 1, a.json.size(), out_);
            std::fputc('\n', out_);
            std::fflush(out_);
        }
        if (ctx_.delivered) ctx_.delivered(a.seq);
        return true;
    }

    bool connected() const override { return out_ != nullptr; }
    size_t in_flight() const override { return 0; }

private:
    SinkContext ctx_;
    std::mutex mu_;
    std::FILE* out_ = nullptr;
};

}  // namespace

std::unique_ptr<Sink> make_sink_stdout(const SinkContext& ctx) { return std::make_unique<SinkStdout>(ctx); }

}  // namespace vigil
