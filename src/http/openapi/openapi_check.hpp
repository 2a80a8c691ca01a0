// Keeps the OpenAPI document honest: lists every route the router has and the document
// lacks, and every operation the document describes that the router does not serve. Used by
// the unit test and logged at start-up, so a new route without documentation is noticed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/router.hpp"

namespace broker {

// One line per mismatch, e.g. "POST /v1/admin/sync: served but not in the OpenAPI document".
// Throws nlohmann::json::parse_error when `document_json` is not JSON.
std::vector<std::string> route_document_mismatches(const Router& router, std::string_view document_json);

}  // namespace broker
