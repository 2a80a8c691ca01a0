// libFuzzer target: the NIOSXaaS answers (provider/niosxaas_answers): the session answers'
// jwt and the universal-services list the clean-up step deletes from. Only services whose
// name contains the filter are ever returned, and only from a JSON object.
#include "fuzz_check.hpp"
#include "provider/niosxaas_answers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using broker::fuzz::check;
    const std::string_view body = broker::fuzz::as_text(data, size);
    const bool object = broker::is_json_object(body);

    const auto jwt = broker::read_niosxaas_jwt(body);
    check(!jwt || (object && !jwt->empty()));

    constexpr std::string_view kFilter = "Instrqt-SaaS";
    const auto services = broker::read_niosxaas_services(body, kFilter);
    check(!services || object);
    if (services) {
        for (const auto& service : *services) check(service.name.find(kFilter) != std::string::npos);
    }
    return 0;
}
