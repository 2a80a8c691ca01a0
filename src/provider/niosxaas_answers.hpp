// Reading NIOSXaaS answers (sign-in and account-switch sessions, the universal-services
// list): pure parsing of the provider's bodies, no I/O, so it can be fuzzed and tested alone.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace broker {

struct NiosxaasService {
    std::string id;
    std::string name;
};

// The non-empty "jwt" string of a session answer; nothing when the body is not a JSON
// object with one.
std::optional<std::string> read_niosxaas_jwt(std::string_view body);

// The services of a list answer (`{"results": [{"id", "name"}, ...]}`) whose name contains
// `name_filter`; entries that are not objects or have no string name are skipped, a missing
// id reads as "". Nothing when the body is not a JSON object with a "results" array.
std::optional<std::vector<NiosxaasService>> read_niosxaas_services(std::string_view body,
                                                                   std::string_view name_filter);

// Whether a body is a JSON object (the shape of every answer the client accepts).
bool is_json_object(std::string_view body);

}  // namespace broker
