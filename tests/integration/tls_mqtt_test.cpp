// MQTT security end to end: vigil over TLS (a CA, server and client certificates
// that the test generates with openssl) and with username/password, against a real
// mosquitto on loopback. The test's own clients use a plain loopback listener of
// the same broker; vigil uses the secured ones, for ingest and for alerts.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "support/harness.h"

using namespace vigil;
using namespace vigil::test;

namespace {

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// A self-signed CA: `name`.crt and `name`.key.
bool make_ca(const TempDir& d, const std::string& name) {
    return sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" + name +
              " -keyout " + d.file(name + ".key") + " -out " + d.file(name + ".crt"));
}

// A certificate `name`.crt/.key signed by `ca`; for a server, with 127.0.0.1 as its IP name.
bool make_cert(const TempDir& d, const std::string& ca, const std::string& name, const std::string& cn, bool ip_san) {
    d.write(name + ".ext", ip_san ? "subjectAltName=IP:127.0.0.1\n" : "extendedKeyUsage=clientAuth\n");
    return sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn + " -keyout " +
              d.file(name + ".key") + " -out " + d.file(name + ".csr")) &&
           sh("openssl x509 -req -days 2 -in " + d.file(name + ".csr") + " -CA " + d.file(ca + ".crt") + " -CAkey " +
              d.file(ca + ".key") + " -CAcreateserial -out " + d.file(name + ".crt") + " -extfile " +
              d.file(name + ".ext"));
}

// mosquitto with three loopback listeners: plain (the test's clients), TLS with
// client certificates required, and username/password.
struct SecureBroker {
    const TempDir& dir;
    int plain = free_port(), tls = free_port(), auth = free_port();
    ChildProcess proc;
    explicit SecureBroker(const TempDir& d) : dir(d) {}
    ~SecureBroker() {
        proc.signal(SIGTERM);
        proc.wait(5000);
    }
    bool start() {
        std::ostringstream c;
        c << "user root\n"  // keeps access to the test's 0700 folder when run as root; ignored otherwise
          << "per_listener_settings true\npersistence false\n"
          << "log_dest file " << dir.file("mosquitto.log") << "\n"
          << "listener " << plain << " 127.0.0.1\nallow_anonymous true\n"
          << "listener " << tls << " 127.0.0.1\nallow_anonymous true\n"
          << "cafile " << dir.file("ca.crt") << "\ncertfile " << dir.file("server.crt") << "\nkeyfile "
          << dir.file("server.key") << "\nrequire_certificate true\n"
          << "listener " << auth << " 127.0.0.1\nallow_anonymous false\npassword_file " << dir.file("passwd") << "\n";
        dir.write("mosquitto.conf", c.str());
        std::string bin = "mosquitto";
        for (const char* p : {"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"})
            if (::access(p, X_OK) == 0) bin = p;
        if (!proc.start({bin, "-c", dir.file("mosquitto.conf")}, dir.file("mosquitto.out"),
                        dir.file("mosquitto.out")))
            return false;
        return wait_port(plain, 10000) && wait_port(tls, 10000) && wait_port(auth, 10000);
    }
};

std::string config(const TempDir& d, int port, const std::string& mqtt_extra) {
    return "data_dir: " + d.file("data") + "\npartitions: 2\nmqtt:\n  host: 127.0.0.1\n  port: " +
           std::to_string(port) + "\n  client_id: vigil-tls-test\n" + mqtt_extra +
           "streams:\n  sensors:\n    topic: factory/+/telemetry\n    qos: 1\n    key: device\n"
           "    time: { field: ts, format: epoch_ms, max_out_of_order: 0s }\n"
           "rules: " + d.file("rules") + "\nadmin: { listen: off }\n";
}

struct Setup {
    TempDir dir;
    SecureBroker broker{dir};
    Setup() {
        REQUIRE(make_ca(dir, "ca"));
        REQUIRE(make_cert(dir, "ca", "server", "127.0.0.1", true));
        REQUIRE(make_cert(dir, "ca", "client", "vigil-client", false));
        REQUIRE(sh("mosquitto_passwd -c -b " + dir.file("passwd") + " vigil 's3cret pass'"));
        REQUIRE(broker.start());
        ::mkdir(dir.file("rules").c_str(), 0755);
        dir.write("rules/hot.yaml", "rule: hot\nstream: sensors\npattern:\n  - name: hot\n    where: value > 90\n");
    }
    std::string log() const { return read_file(dir.file("err")); }
};

// Starts vigil with `conf`, publishes one hot reading on the plain listener, and
// waits for its alert there.
void round_trip(Setup& s, const std::string& conf) {
    s.dir.write("vigil.yaml", conf);
    Collector alerts(s.broker.plain, "vigil/alerts/#");
    REQUIRE(alerts.connected());
    ChildProcess vigil;
    REQUIRE(vigil.start({VIGIL_BINARY, "run", "-c", s.dir.file("vigil.yaml")}, s.dir.file("out"), s.dir.file("err")));
    REQUIRE_MESSAGE(eventually([&] { return s.log().find("ready:") != std::string::npos || !vigil.running(); }, 15000),
                    s.log());
    // Ingest is subscribed once the broker shows vigil's connection; publish until the alert comes.
    Publisher pub(s.broker.plain);
    REQUIRE(pub.connected());
    int64_t ts = 1767225600000;
    bool got = eventually([&] {
        pub.publish("factory/a/telemetry", R"({"device":"pump-1","ts":)" + std::to_string(ts++) + R"(,"value":95})");
        return alerts.wait_for(1, 200);
    }, 15000);
    std::string logs = s.log() + read_file(s.dir.file("mosquitto.log"));
    CHECK_MESSAGE(got, logs);
    if (got) CHECK(alerts.messages()[0].topic == "vigil/alerts/hot/pump-1");
    vigil.signal(SIGTERM);
    CHECK(vigil.wait(10000) == 0);
}

// Starts vigil with `conf` and expects a log line containing `needle` soon, then a clean stop.
void refused(Setup& s, const std::string& conf, const std::string& needle) {
    s.dir.write("vigil.yaml", conf);
    ChildProcess vigil;
    REQUIRE(vigil.start({VIGIL_BINARY, "run", "-c", s.dir.file("vigil.yaml")}, s.dir.file("out"), s.dir.file("err")));
    CHECK_MESSAGE(eventually([&] { return s.log().find(needle) != std::string::npos; }, 10000), s.log());
    vigil.signal(SIGTERM);
    CHECK_MESSAGE(vigil.wait(10000) == 0, s.log());
}

}  // namespace

TEST_CASE("mqtt tls: vigil connects with a CA and a client certificate, ingests and publishes alerts") {
    Setup s;
    round_trip(s, config(s.dir, s.broker.tls,
                         "  tls:\n    ca_file: " + s.dir.file("ca.crt") + "\n    cert_file: " + s.dir.file("client.crt") +
                             "\n    key_file: " + s.dir.file("client.key") + "\n"));
}

TEST_CASE("mqtt tls: a CA that did not sign the broker's certificate gives a clear error, not a hang") {
    Setup s;
    REQUIRE(make_ca(s.dir, "other"));
    refused(s,
            config(s.dir, s.broker.tls,
                   "  tls:\n    ca_file: " + s.dir.file("other.crt") + "\n    cert_file: " + s.dir.file("client.crt") +
                       "\n    key_file: " + s.dir.file("client.key") + "\n"),
            "certificate verify failed");
}

TEST_CASE("mqtt auth: username and password_file, a wrong password is refused with a clear error") {
    Setup s;
    s.dir.write("password", "s3cret pass\n");
    round_trip(s, config(s.dir, s.broker.auth, "  username: vigil\n  password_file: " + s.dir.file("password") + "\n"));
    s.dir.write("password", "wrong\n");
    refused(s, config(s.dir, s.broker.auth, "  username: vigil\n  password_file: " + s.dir.file("password") + "\n"),
            "connection refused: Not authorized");
}

TEST_CASE("mqtt auth: VIGIL_MQTT_PASSWORD takes the password from the environment") {
    Setup s;
    ::setenv("VIGIL_MQTT_PASSWORD", "s3cret pass", 1);
    round_trip(s, config(s.dir, s.broker.auth, "  username: vigil\n"));
    ::unsetenv("VIGIL_MQTT_PASSWORD");
}
