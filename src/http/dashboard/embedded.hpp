// Files compiled into the binary for the /dashboard page (CMakeLists.txt generates the
// definitions): its HTML, stylesheet and script from this folder, and Chart.js from Debian's
// libjs-chart.js.
#pragma once

#include <string_view>

namespace broker {

std::string_view embedded_dashboard_html();
std::string_view embedded_dashboard_css();
std::string_view embedded_dashboard_js();
std::string_view embedded_chart_js();

}  // namespace broker
