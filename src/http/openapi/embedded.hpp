// Files of this folder compiled into the binary (CMakeLists.txt generates the definitions):
// the OpenAPI document served at {base}/openapi.json and the page at {base}/docs.
#pragma once

#include <string_view>

namespace broker {

std::string_view embedded_openapi_json();
std::string_view embedded_docs_html();

}  // namespace broker
