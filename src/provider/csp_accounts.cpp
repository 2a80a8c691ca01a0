// Reads the CSP account list. The real provider sometimes answers with an HTML error page
// or a half-formed body, so every rejection says what was wrong and where. The list is read
// with nlohmann-json's SAX interface: one entry at a time becomes a small JSON value that is
// checked and handed on, so a list of a million accounts never exists as a document.
#include "provider/csp_accounts.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <streambuf>
#include <vector>

#include "core/excerpt.hpp"

namespace broker {
namespace {

using nlohmann::json;

constexpr std::size_t kExcerptChars = 80;
// Enough of the start of a list for its excerpt, past any leading whitespace.
constexpr std::size_t kHeadBytes = 4096;

bool is_string_equal(const json& entry, const char* key, std::string_view expected) {
    const auto it = entry.find(key);
    return it != entry.end() && it->is_string() && it->get_ref<const std::string&>() == expected;
}

std::string entry_error(std::size_t index, const std::string& what) {
    return "results[" + std::to_string(index) + "]: " + what;
}

// csp_id arrives as a JSON number or as a numeric string; either way it becomes the
// decimal text of a non-negative integer.
std::string read_csp_id(const json& entry, std::size_t index) {
    const auto it = entry.find("csp_id");
    if (it == entry.end() || it->is_null()) {
        throw std::invalid_argument(entry_error(index, "active sandbox without csp_id"));
    }
    if (it->is_number_unsigned()) return std::to_string(it->get<std::uint64_t>());
    if (it->is_number_integer()) {
        const auto value = it->get<std::int64_t>();
        if (value >= 0) return std::to_string(value);
    }
    if (it->is_string()) {
        const auto& text = it->get_ref<const std::string&>();
        std::uint64_t value = 0;
        const auto* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, value);
        if (!text.empty() && ec == std::errc() && ptr == end) return std::to_string(value);
    }
    throw std::invalid_argument(
        entry_error(index, "csp_id " + it->dump() + " is not a non-negative integer"));
}

std::string read_required_string(const json& entry, const char* key, std::size_t index) {
    const auto it = entry.find(key);
    if (it == entry.end() || it->is_null()) {
        throw std::invalid_argument(entry_error(index, std::string("active sandbox without ") + key));
    }
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
        throw std::invalid_argument(
            entry_error(index, std::string(key) + " " + it->dump() + " is not a non-empty string"));
    }
    return it->get<std::string>();
}

// Optional text fields: missing or null become "", because answers never carry null strings.
std::string read_optional_string(const json& entry, const char* key, std::size_t index) {
    const auto it = entry.find(key);
    if (it == entry.end() || it->is_null()) return "";
    if (!it->is_string()) {
        throw std::invalid_argument(
            entry_error(index, std::string(key) + " " + it->dump() + " is not a string"));
    }
    return it->get<std::string>();
}

// The error for a list whose root or "results" is of the wrong kind.
[[noreturn]] void refuse_root(const std::string& head) {
    throw std::invalid_argument("account list is not a JSON object with \"results\"; got: " +
                                excerpt(head, kExcerptChars));
}

// An active sandbox from one entry of "results", or nothing when the entry is not one.
std::optional<ProviderSandbox> read_entry(const json& entry, std::size_t index) {
    if (!entry.is_object() || !is_string_equal(entry, "account_type", "sandbox") ||
        !is_string_equal(entry, "state", "active")) {
        return std::nullopt;
    }
    ProviderSandbox sandbox;
    sandbox.sandbox_id = read_csp_id(entry, index);
    sandbox.external_id = read_required_string(entry, "id", index);
    sandbox.name = read_optional_string(entry, "name", index);
    sandbox.sfdc_account_id = read_optional_string(entry, "sfdc_account_id", index);
    return sandbox;
}

// The SAX handler. Depth 0 is outside the document, 1 inside the root object, 2 inside
// "results"; an entry (depth 3 and deeper) is built as a JSON value, every other member of
// the root is skipped without being kept.
class ListReader {
  public:
    ListReader(const std::string& head, const CspAccountSink& sink) : head_(head), sink_(sink) {}

    const CspAccountCounts& counts() const { return counts_; }
    bool saw_results() const { return saw_results_; }

    bool null() { return value(json(nullptr), "null"); }
    bool boolean(bool v) { return value(json(v), "boolean"); }
    bool number_integer(json::number_integer_t v) { return value(json(v), "number"); }
    bool number_unsigned(json::number_unsigned_t v) { return value(json(v), "number"); }
    bool number_float(json::number_float_t v, const json::string_t&) { return value(json(v), "number"); }
    bool string(json::string_t& v) { return value(json(std::move(v)), "string"); }
    bool binary(json::binary_t&) { return value(json(nullptr), "binary"); }

    bool start_object(std::size_t) { return open(json::object(), "object"); }
    bool start_array(std::size_t) { return open(json::array(), "array"); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }

    bool key(json::string_t& k) {
        if (depth_ == 1) {
            in_results_member_ = k == "results";
        } else if (!stack_.empty()) {
            key_ = std::move(k);
        }
        return true;
    }

    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) {
        const auto start = excerpt(head_, kExcerptChars);
        if (start.empty()) throw std::invalid_argument("account list is empty, not JSON");
        throw std::invalid_argument("account list is not JSON (byte " + std::to_string(position) +
                                    "); it starts with: " + start);
    }

  private:
    // A scalar: the root (refused), a member of the root, an entry or a part of one.
    bool value(json v, const char* type) {
        if (depth_ == 0) refuse_root(head_);
        if (depth_ == 1) {
            if (in_results_member_) {
                throw std::invalid_argument(std::string("account list \"results\" is not an array but ") +
                                            type);
            }
            return true;
        }
        if (skip_depth_ > 0) return true;
        if (depth_ == 2 && in_results_) {
            ++counts_.ignored;  // an entry that is not even an object
            ++index_;
            return true;
        }
        add(std::move(v));
        return true;
    }

    bool open(json container, const char* type) {
        ++depth_;
        if (depth_ == 1) {
            if (!container.is_object()) refuse_root(head_);
            return true;
        }
        if (skip_depth_ > 0) return true;
        if (depth_ == 2) {
            if (!in_results_member_) {
                skip_depth_ = depth_;  // another member of the root: read past it
                return true;
            }
            if (!container.is_array()) {
                throw std::invalid_argument(std::string("account list \"results\" is not an array but ") +
                                            type);
            }
            in_results_ = true;
            saw_results_ = true;
            return true;
        }
        if (depth_ == 3) {
            entry_ = std::move(container);
            stack_.push_back(&entry_);
            return true;
        }
        stack_.push_back(add(std::move(container)));
        return true;
    }

    bool close() {
        const int closing = depth_--;
        if (skip_depth_ > 0) {
            if (closing == skip_depth_) skip_depth_ = 0;
            return true;
        }
        if (closing == 2) {
            in_results_ = false;
            in_results_member_ = false;
            return true;
        }
        if (closing >= 3) {
            stack_.pop_back();
            if (closing == 3) finish_entry();
        }
        return true;
    }

    // Adds a value to the container being built; returns it.
    json* add(json v) {
        json& parent = *stack_.back();
        if (parent.is_array()) {
            parent.push_back(std::move(v));
            return &parent.back();
        }
        json& slot = parent[key_];
        slot = std::move(v);
        return &slot;
    }

    void finish_entry() {
        auto sandbox = read_entry(entry_, index_++);
        entry_ = json();
        if (!sandbox) {
            ++counts_.ignored;
            return;
        }
        ++counts_.active;
        sink_(std::move(*sandbox));
    }

    const std::string& head_;
    const CspAccountSink& sink_;
    CspAccountCounts counts_;
    int depth_ = 0;
    int skip_depth_ = 0;              // > 0: inside a skipped member that opened at this depth
    bool in_results_member_ = false;  // the root's current member is "results"
    bool in_results_ = false;
    bool saw_results_ = false;
    std::size_t index_ = 0;
    json entry_;
    std::vector<json*> stack_;  // the containers of the entry being built, innermost last
    std::string key_;
};

template <typename Parse>
CspAccountCounts read_list(const std::string& head, const CspAccountSink& sink, Parse&& parse) {
    if (excerpt(head, kExcerptChars).empty() && head.size() < kHeadBytes) {
        throw std::invalid_argument("account list is empty, not JSON");
    }
    ListReader reader(head, sink);
    parse(reader);
    if (!reader.saw_results()) {
        throw std::invalid_argument("account list has no \"results\" array; got: " +
                                    excerpt(head, kExcerptChars));
    }
    return reader.counts();
}

// Watches the raw bytes of a list for a value or an entry too large to hold, before the parser
// gathers it: nlohmann-json's lexer keeps a whole string or number token in memory.
class SizeGuard {
  public:
    void scan(const char* data, std::size_t size) {
        for (std::size_t i = 0; i < size; ++i, ++position_) {
            const char c = data[i];
            if (depth_ >= 3 && ++entry_ > kMaxCspEntryBytes) {
                refuse("an entry of \"results\" longer than " + std::to_string(kMaxCspEntryBytes) + " bytes");
            }
            if (in_string_) {
                if (escape_) {
                    escape_ = false;
                } else if (c == '\\') {
                    escape_ = true;
                } else if (c == '"') {
                    in_string_ = false;
                    run_ = 0;
                    continue;
                }
                grow_run();
                continue;
            }
            switch (c) {
                case '"':
                    in_string_ = true;
                    run_ = 0;
                    break;
                case '{':
                case '[':
                    ++depth_;
                    run_ = 0;
                    break;
                case '}':
                case ']':
                    --depth_;
                    run_ = 0;
                    break;
                case ',':
                case ':':
                case ' ':
                case '\t':
                case '\n':
                case '\r':
                    run_ = 0;
                    break;
                default:
                    grow_run();
            }
            if (depth_ <= 2) entry_ = 0;
        }
    }

  private:
    void grow_run() {
        if (++run_ > kMaxCspValueBytes) {
            refuse("a value longer than " + std::to_string(kMaxCspValueBytes) + " bytes");
        }
    }
    [[noreturn]] void refuse(const std::string& what) const {
        throw std::invalid_argument("account list has " + what + " (byte " + std::to_string(position_) + ")");
    }

    bool in_string_ = false;
    bool escape_ = false;
    int depth_ = 0;
    std::size_t run_ = 0;    // bytes of the string or bare token being read
    std::size_t entry_ = 0;  // bytes of the entry being read
    std::size_t position_ = 0;
};

// A reader as a stream buffer for the parser, keeping the list's first bytes for the errors
// and passing every piece by the size guard first.
static_assert(kHeadBytes <= 16384);
class ReaderBuffer final : public std::streambuf {
  public:
    ReaderBuffer(const CspBodyReader& read, std::string& head) : read_(read), head_(head) {}

  protected:
    int_type underflow() override {
        if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
        std::size_t n = 0;
        if (!started_) {
            // The head whole before the parser sees a byte, so any error can quote it.
            started_ = true;
            while (n < kHeadBytes) {
                const std::size_t got = read_(buffer_ + n, kHeadBytes - n);
                if (got == 0) break;
                n += got;
            }
            head_.assign(buffer_, n);
        } else {
            n = read_(buffer_, sizeof buffer_);
        }
        if (n == 0) return traits_type::eof();
        guard_.scan(buffer_, n);
        setg(buffer_, buffer_, buffer_ + n);
        return traits_type::to_int_type(*gptr());
    }

  private:
    const CspBodyReader& read_;
    std::string& head_;
    SizeGuard guard_;
    bool started_ = false;
    char buffer_[16384];
};

}  // namespace

CspAccountCounts stream_csp_accounts(const CspBodyReader& read, const CspAccountSink& sink) {
    std::string head;  // filled as the list is read; the parser's errors come after its bytes
    ReaderBuffer buffer(read, head);
    ListReader reader(head, sink);
    json::sax_parse(std::istreambuf_iterator<char>(&buffer), std::istreambuf_iterator<char>(), &reader);
    if (!reader.saw_results()) {
        throw std::invalid_argument("account list has no \"results\" array; got: " +
                                    excerpt(head, kExcerptChars));
    }
    return reader.counts();
}

CspAccountCounts stream_csp_accounts(std::string_view body, const CspAccountSink& sink) {
    const std::string head(body.substr(0, kHeadBytes));
    return read_list(head, sink,
                     [&](ListReader& reader) { json::sax_parse(body.begin(), body.end(), &reader); });
}

CspAccountCounts stream_csp_accounts(std::istream& in, const CspAccountSink& sink) {
    const auto start = in.tellg();
    std::string head(kHeadBytes, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    in.clear();
    in.seekg(start);
    if (!in) throw std::invalid_argument("account list cannot be read again from its start");
    return read_list(head, sink, [&](ListReader& reader) {
        json::sax_parse(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), &reader);
    });
}

CspAccountList parse_csp_accounts(std::string_view body) {
    CspAccountList list;
    list.ignored = stream_csp_accounts(body, [&](ProviderSandbox&& sandbox) {
                       list.sandboxes.push_back(std::move(sandbox));
                   }).ignored;
    return list;
}

}  // namespace broker
