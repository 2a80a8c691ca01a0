// The admin list's pagination cursor: opaque to clients (base64url of a versioned position),
// so the keyset underneath (the last sandbox id of a page) can change without breaking them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace broker {

// The cursor that continues after the sandbox `last_sandbox_id`.
std::string encode_cursor(std::string_view last_sandbox_id);

// The sandbox id a cursor continues after; nothing when the text is not a cursor we made.
std::optional<std::string> decode_cursor(std::string_view cursor);

}  // namespace broker
