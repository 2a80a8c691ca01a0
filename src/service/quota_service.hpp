// The operators' side of reservations and track limits: validates what they ask for, gives
// each reservation its id, and tells what every rule holds, uses and lacks (the shortfall a
// reservation's window will meet if the pool stays as it is). The rules themselves are kept
// by the store's allocation step (Store::allocate); nothing here takes part in allocating.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/quota.hpp"
#include "obs/exposition.hpp"
#include "service/admin_service.hpp"
#include "store/store.hpp"

namespace broker {

// A reservation as asked for (absent fields: not given).
struct ReservationInput {
    std::optional<std::string> track;
    std::optional<std::int64_t> count;
    std::optional<std::string> name_prefix;
    std::optional<UnixSeconds> starts_at;
    std::optional<UnixSeconds> ends_at;
};

struct ReservationView {
    Reservation reservation;
    bool active = false;           // its window is open now
    std::int64_t outstanding = 0;  // held back now: count - used in the window, else 0
    std::int64_t shortfall = 0;    // what the pool lacks for it (see core/quota.hpp)
};

struct CreatedReservation {
    ReservationView view;
    std::optional<std::string> warning;  // set when the pool cannot cover it
};

// What /metrics shows of the rules.
struct QuotaFigures {
    std::int64_t shortfall = 0;    // over every reservation not yet ended
    std::int64_t outstanding = 0;  // over the reservations whose window is open
    std::vector<TrackLimit> limits;
};

class QuotaService {
  public:
    QuotaService(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

    static constexpr std::size_t kMaxTrackBytes = 256;
    static constexpr std::int64_t kMaxCount = 1'000'000;

    // Validates the input against the clock: track non-empty, count >= 1, ends_at after
    // starts_at and in the future. The reservation gets a new id.
    Checked<Reservation> check_reservation(const ReservationInput& input) const;
    static Checked<std::string> check_track(std::string_view track);
    static Checked<std::int64_t> check_max_active(std::optional<std::int64_t> max_active);

    CreatedReservation create(const Reservation& reservation);
    std::vector<ReservationView> list();
    std::optional<ReservationView> get(const std::string& id);
    // The reservation as it was before it was removed; nothing when there was none.
    std::optional<ReservationView> cancel(const std::string& id);

    TrackLimit set_limit(const std::string& track, std::int64_t max_active);
    bool remove_limit(const std::string& track);
    std::vector<TrackLimit> limits();

    QuotaFigures figures();
    // broker_reservation_shortfall, broker_reservation_outstanding, broker_track_limit and
    // broker_track_active{track} (only tracks with a limit).
    std::vector<MetricFamily> collect();

    UnixSeconds now() const { return clock_.now(); }

  private:
    std::vector<ReservationView> views(const std::vector<Reservation>& reservations, UnixSeconds now);

    Store& store_;
    const Clock& clock_;
};

}  // namespace broker
