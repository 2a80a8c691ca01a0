// Request ids: a caller's X-Request-ID is echoed when it is sane (at most 128 characters of
// [A-Za-z0-9._-]) so traces join up across services; otherwise a random one is made.
#pragma once

#include <string>
#include <string_view>

namespace broker {

bool is_sane_request_id(std::string_view id);

// 32 random hex digits.
std::string new_request_id();

// The id to use for a request carrying `incoming` (empty when it had none).
std::string request_id_for(std::string_view incoming);

}  // namespace broker
