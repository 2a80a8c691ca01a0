// The API described as OpenAPI 3 at {base}/openapi.json and a page rendering it at
// {base}/docs. Both come from files compiled into the binary (src/http/openapi/); the
// document's `/v1` prefix is rewritten to the configured base path once, at construction.
#pragma once

#include <string>

#include "http/router.hpp"

namespace broker {

class DocsHandlers {
  public:
    explicit DocsHandlers(const std::string& base_path);

    // Registers {base}/openapi.json and {base}/docs. This object must outlive the router.
    void add_routes(Router& router);

    // The route template of the docs page and the Content-Security-Policy it needs: its one
    // inline script and style (by SHA-256), and fetches of its own origin; nothing else.
    const std::string& docs_path() const { return docs_path_; }
    const std::string& docs_csp() const { return docs_csp_; }

    // The document as served (the base path applied).
    const std::string& document() const { return document_; }

  private:
    std::string base_path_;
    std::string docs_path_;
    std::string document_;
    std::string docs_csp_;
};

}  // namespace broker
