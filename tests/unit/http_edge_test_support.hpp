// Runs a Pipeline on a request without a socket, for the edge middleware tests. Test-only.
#pragma once

#include <future>
#include <string>
#include <utility>
#include <vector>

#include "http/pipeline.hpp"

namespace broker::testing {

inline Request make_request(bhttp::verb method, std::string target,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request req{method, target, 11};
    for (auto& [name, value] : headers) req.insert(name, value);
    return req;
}

// Answers `req` through `pipeline` on a private io_context; `peer` is the client address.
inline Response run_pipeline(const Pipeline& pipeline, const Request& req, std::string peer = "127.0.0.1") {
    asio::io_context io;
    RequestContext ctx(req);
    ctx.remote = asio::ip::make_address(peer);
    std::promise<Response> result;
    auto future = result.get_future();
    asio::co_spawn(io, pipeline.handle(ctx), [&](std::exception_ptr e, Response res) {
        if (e) {
            result.set_exception(e);
        } else {
            result.set_value(std::move(res));
        }
    });
    io.run();
    return future.get();
}

}  // namespace broker::testing
