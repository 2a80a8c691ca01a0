#include "http/handlers/query_params.hpp"

#include "http/error_response.hpp"

namespace broker {

std::optional<QueryParams> read_query(const RequestContext& ctx, std::optional<Response>& error) {
    auto params = parse_query(ctx.query);
    if (!params) {
        error = error_response(ErrorCode::invalid_request,
                               "the query string is malformed (a bad %-escape or a control character)",
                               ctx.request_id);
    }
    return params;
}

}  // namespace broker
