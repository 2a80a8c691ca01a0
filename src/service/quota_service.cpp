// Reservations and track limits for operators: see quota_service.hpp.
#include "service/quota_service.hpp"

#include <random>

#include "core/utf8.hpp"

namespace broker {
namespace {

std::string new_reservation_id() {
    static constexpr char kHex[] = "0123456789abcdef";
    thread_local std::mt19937_64 engine{std::random_device{}()};
    std::uniform_int_distribution<int> digit(0, 15);
    std::string id = "res_";
    for (int i = 0; i < 16; ++i) id += kHex[digit(engine)];
    return id;
}

bool has_control(std::string_view text) {
    for (const unsigned char c : text)
        if (c < 0x20 || c == 0x7F) return true;
    return false;
}

}  // namespace

Checked<std::string> QuotaService::check_track(std::string_view track) {
    if (track.empty())
        return Checked<std::string>::refuse(ErrorCode::invalid_request, "track must not be empty");
    if (track.size() > kMaxTrackBytes || !is_valid_utf8(track) || has_control(track)) {
        return Checked<std::string>::refuse(
            ErrorCode::invalid_request,
            "track must be at most 256 bytes of UTF-8 without control characters");
    }
    return Checked<std::string>::ok(std::string(track));
}

Checked<std::int64_t> QuotaService::check_max_active(std::optional<std::int64_t> max_active) {
    if (!max_active)
        return Checked<std::int64_t>::refuse(ErrorCode::invalid_request, "max_active is required");
    if (*max_active < 0 || *max_active > kMaxCount) {
        return Checked<std::int64_t>::refuse(ErrorCode::invalid_request,
                                             "max_active must be a whole number from 0 to 1000000");
    }
    return Checked<std::int64_t>::ok(*max_active);
}

Checked<Reservation> QuotaService::check_reservation(const ReservationInput& in) const {
    using C = Checked<Reservation>;
    if (!in.track) return C::refuse(ErrorCode::invalid_request, "track is required");
    auto track = check_track(*in.track);
    if (track.refusal) return {std::nullopt, track.refusal};
    if (!in.count) return C::refuse(ErrorCode::invalid_request, "count is required");
    if (*in.count < 1 || *in.count > kMaxCount)
        return C::refuse(ErrorCode::invalid_request, "count must be a whole number from 1 to 1000000");
    const std::string prefix = in.name_prefix.value_or("");
    if (prefix.size() > kMaxTrackBytes || !is_valid_utf8(prefix) || has_control(prefix)) {
        return C::refuse(ErrorCode::invalid_request,
                         "name_prefix must be at most 256 bytes of UTF-8 without control characters");
    }
    if (!in.starts_at) return C::refuse(ErrorCode::invalid_request, "starts_at is required (Unix seconds)");
    if (!in.ends_at) return C::refuse(ErrorCode::invalid_request, "ends_at is required (Unix seconds)");
    if (*in.ends_at <= *in.starts_at)
        return C::refuse(ErrorCode::invalid_request, "ends_at must be after starts_at");
    const UnixSeconds now = clock_.now();
    if (*in.ends_at <= now) return C::refuse(ErrorCode::invalid_request, "ends_at must be in the future");
    Reservation r;
    r.id = new_reservation_id();
    r.track = std::move(*track.value);
    r.name_prefix = prefix;
    r.count = *in.count;
    r.starts_at = *in.starts_at;
    r.ends_at = *in.ends_at;
    r.created_at = now;
    return C::ok(std::move(r));
}

std::vector<ReservationView> QuotaService::views(const std::vector<Reservation>& reservations,
                                                 UnixSeconds now) {
    const auto shortfalls = reservation_shortfalls(
        reservations, now, [this](const std::string& prefix) { return store_.count_available(prefix); });
    std::vector<ReservationView> out;
    out.reserve(reservations.size());
    for (std::size_t i = 0; i < reservations.size(); ++i) {
        const Reservation& r = reservations[i];
        out.push_back({r, r.active_at(now), r.outstanding_at(now), shortfalls[i]});
    }
    return out;
}

CreatedReservation QuotaService::create(const Reservation& reservation) {
    store_.create_reservation(reservation);
    const UnixSeconds now = clock_.now();
    CreatedReservation created;
    for (auto& view : views(store_.list_reservations(), now)) {
        if (view.reservation.id == reservation.id) created.view = std::move(view);
    }
    if (created.view.reservation.id.empty()) created.view = {reservation, reservation.active_at(now), 0, 0};
    if (created.view.shortfall > 0) {
        created.warning =
            "the pool cannot cover this reservation: " + std::to_string(created.view.shortfall) + " of its " +
            std::to_string(reservation.count) + " sandboxes are missing (available sandboxes" +
            (reservation.name_prefix.empty() ? "" : " matching name_prefix") +
            ", less what other reservations overlapping its window hold)";
    }
    return created;
}

std::vector<ReservationView> QuotaService::list() {
    return views(store_.list_reservations(), clock_.now());
}

std::optional<ReservationView> QuotaService::get(const std::string& id) {
    for (auto& view : list())
        if (view.reservation.id == id) return std::move(view);
    return std::nullopt;
}

std::optional<ReservationView> QuotaService::cancel(const std::string& id) {
    auto view = get(id);
    if (!view || !store_.cancel_reservation(id)) return std::nullopt;
    return view;
}

TrackLimit QuotaService::set_limit(const std::string& track, std::int64_t max_active) {
    store_.set_track_limit(track, max_active);
    for (auto& limit : store_.list_track_limits(clock_.now()))
        if (limit.track == track) return limit;
    return {track, max_active, 0};
}

bool QuotaService::remove_limit(const std::string& track) {
    return store_.remove_track_limit(track);
}

std::vector<TrackLimit> QuotaService::limits() {
    return store_.list_track_limits(clock_.now());
}

QuotaFigures QuotaService::figures() {
    QuotaFigures figures;
    for (const auto& view : list()) {
        figures.shortfall += view.shortfall;
        figures.outstanding += view.outstanding;
    }
    figures.limits = limits();
    return figures;
}

std::vector<MetricFamily> QuotaService::collect() {
    const QuotaFigures f = figures();
    std::vector<MetricFamily> families;
    families.push_back({"broker_reservation_shortfall",
                        "Sandboxes the pool lacks for the reservations not yet ended, summed over them",
                        MetricType::gauge,
                        {{"", {}, static_cast<double>(f.shortfall)}}});
    families.push_back({"broker_reservation_outstanding",
                        "Sandboxes held back now for reservations whose window is open",
                        MetricType::gauge,
                        {{"", {}, static_cast<double>(f.outstanding)}}});
    MetricFamily limit{"broker_track_limit", "max_active of each track with a limit", MetricType::gauge, {}};
    MetricFamily active{"broker_track_active",
                        "Sandboxes each track with a limit holds (allocated, unexpired)",
                        MetricType::gauge,
                        {}};
    for (const auto& l : f.limits) {
        limit.samples.push_back({"", {{"track", l.track}}, static_cast<double>(l.max_active)});
        active.samples.push_back({"", {{"track", l.track}}, static_cast<double>(l.active)});
    }
    families.push_back(std::move(limit));
    families.push_back(std::move(active));
    return families;
}

}  // namespace broker
