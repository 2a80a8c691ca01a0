// `sandbox-broker version`: what this binary is (version, commit) and the schema version of
// each store it needs, as text or JSON, so an operator can tell before an upgrade or a roll
// back whether a store will be migrated, served as it is, or refused; and the allocator behind
// malloc (the binary links mimalloc unless built without it).
#pragma once

#include <ostream>
#include <string_view>

namespace broker {

void print_version(std::string_view version, std::string_view commit, std::string_view allocator, bool json,
                   std::ostream& out);

}  // namespace broker
