// An answer's header block in one reused buffer: see response_head.hpp.
#include "http/response_head.hpp"

namespace broker {

void response_head(const Response& res, std::string& out) {
    out.clear();
    // "HTTP/X.Y ### " as Beast writes it.
    const unsigned version = res.version();
    const unsigned code = res.result_int();
    const char status_line[] = {'H',
                                'T',
                                'T',
                                'P',
                                '/',
                                static_cast<char>('0' + version / 10),
                                '.',
                                static_cast<char>('0' + version % 10),
                                ' ',
                                static_cast<char>('0' + code / 100),
                                static_cast<char>('0' + code / 10 % 10),
                                static_cast<char>('0' + code % 10),
                                ' '};
    out.append(status_line, sizeof status_line);
    beast::string_view reason = res.reason();
    if (reason.empty()) reason = bhttp::obsolete_reason(res.result());
    out.append(reason.data(), reason.size());
    out += "\r\n";
    for (const auto& field : res) {
        const auto name = field.name_string();
        const auto value = field.value();
        out.append(name.data(), name.size());
        out += ": ";
        out.append(value.data(), value.size());
        out += "\r\n";
    }
    out += "\r\n";
}

}  // namespace broker
