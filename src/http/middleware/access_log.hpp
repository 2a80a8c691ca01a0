// One short line per request at debug level: method, path, status, duration, request id.
// Never the Authorization header, never a query string (it could carry secrets).
#pragma once

#include "http/middleware/middleware.hpp"

namespace broker {

class AccessLog final : public Middleware {
  public:
    void on_response(const RequestContext& ctx, Response& res) override;
};

}  // namespace broker
