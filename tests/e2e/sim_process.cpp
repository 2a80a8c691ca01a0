#include "e2e/sim_process.hpp"

#include <stdexcept>

namespace broker::e2e {
namespace {

std::vector<std::string> command(const std::vector<std::string>& flags) {
    std::vector<std::string> argv{BROKER_BINARY, "csp-sim"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return argv;
}

}  // namespace

SimProcess::SimProcess(const std::vector<std::string>& flags, std::chrono::milliseconds timeout)
    : child_(command(flags), {}, dir_.path()) {
    static const std::string kPrefix = "listening on http://";
    const auto line = child_.wait_for_line(kPrefix, timeout);
    if (!line) {
        const int status = child_.terminate(std::chrono::seconds(2));
        throw std::runtime_error("csp-sim did not report `listening on` (status " + std::to_string(status) +
                                 ")\n--- stdout ---\n" + child_.out() + "\n--- stderr ---\n" + child_.err());
    }
    const auto address = line->substr(line->find(kPrefix) + kPrefix.size());
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("no port in `" + *line + "`");
    host_ = address.substr(0, colon);
    port_ = static_cast<unsigned short>(std::stoi(address.substr(colon + 1)));
}

nlohmann::json SimProcess::stats() const {
    auto http = client();
    const auto res = http.get("/_sim/stats");
    if (res.status != 200) throw std::runtime_error("GET /_sim/stats answered " + std::to_string(res.status));
    return res.json;
}

void SimProcess::set_faults(const nlohmann::json& settings) const {
    auto http = client();
    const auto res = http.post("/_sim/faults", {}, settings.dump());
    if (res.status != 200) {
        throw std::runtime_error("POST /_sim/faults answered " + std::to_string(res.status) + ": " +
                                 res.body);
    }
}

}  // namespace broker::e2e
