// Routes by method and path template (`/v1/sandboxes/{id}/mark-for-deletion`). Templates
// are split into segments once, at registration; matching walks them without allocating.
// The route table is enumerable: the OpenAPI test compares it to the document and
// request metrics label by template.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/asio.hpp"
#include "http/request_context.hpp"

namespace broker {

using Handler = std::function<asio::awaitable<Response>(RequestContext&)>;

// Who may call a route: anyone, a participant (API or admin token), an admin or the viewer
// (the admin API's reads), or an admin only.
enum class Access { open, participant, admin_read, admin };

struct Route {
    bhttp::verb method;
    std::string path_template;  // as registered, e.g. "/v1/sandboxes/{id}"
    Access access;
    Handler handler;

    struct Segment {
        std::string text;  // the literal, or the parameter's name
        bool is_param;
    };
    std::vector<Segment> segments;
};

struct RouteMatch {
    const Route* route = nullptr;  // the route for this method and path
    bool path_known = false;       // some route has this path: a null route then means 405
    std::string allow;             // methods the path accepts ("GET, POST"), set for 405
};

class Router {
  public:
    // Registers a route; throws std::invalid_argument for a malformed template or a
    // duplicate (method, template). Register everything before serving.
    void add(bhttp::verb method, std::string path_template, Access access, Handler handler);

    // Finds the route for `path` (no query string); fills `params` on success.
    RouteMatch match(bhttp::verb method, std::string_view path, PathParams& params) const;

    // The first route whose template matches `path`, whatever its method: what a 405 (or a
    // request refused before routing) was aimed at. Null when no route has the path.
    const Route* route_for_path(std::string_view path) const;

    // Every registered route, in registration order (stable addresses).
    const std::deque<Route>& routes() const { return routes_; }

  private:
    std::deque<Route> routes_;
};

// Registers the admin-API route `method path` on a member function of `handlers`, with the
// admin API's one rule: reads (GET) are open to the viewer role as well, every change is an
// admin's alone.
template <class Handlers>
void add_admin_route(Router& router, bhttp::verb method, std::string path, Handlers* handlers,
                     asio::awaitable<Response> (Handlers::*fn)(RequestContext&)) {
    router.add(method, std::move(path), method == bhttp::verb::get ? Access::admin_read : Access::admin,
               [handlers, fn](RequestContext& ctx) { return (handlers->*fn)(ctx); });
}

}  // namespace broker
