//! The Butler's daily maintenance window (`ButlerStartHour`..`ButlerEndHour`).

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, TimeZone, Timelike, Utc};

/// The hours of the day in which randomized tasks are spread out, read in a
/// fixed UTC offset (the server's "local time").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    start_hour: u32,
    end_hour: u32,
    offset: FixedOffset,
}

impl Window {
    /// A window from `start_hour`:00 to `end_hour`:00 local time. When
    /// `start_hour > end_hour` it spans midnight; when they are equal it is
    /// empty. Hours must be 0..=23 (the builder checks).
    pub(crate) fn new(start_hour: u32, end_hour: u32, offset: FixedOffset) -> Self {
        Self {
            start_hour,
            end_hour,
            offset,
        }
    }

    /// The same offset with other hours (0..=23, checked by the settings).
    pub(crate) fn with_hours(self, start_hour: u32, end_hour: u32) -> Self {
        Self::new(start_hour, end_hour, self.offset)
    }

    /// The local calendar day of `t`.
    pub(crate) fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.offset).date_naive()
    }

    /// When `now` is inside the window, the instant the window closes.
    pub(crate) fn closes_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&self.offset);
        let hour = local.hour();
        let today = local.date_naive();
        let closing_day = if self.start_hour < self.end_hour {
            (self.start_hour..self.end_hour)
                .contains(&hour)
                .then_some(today)
        } else if self.start_hour > self.end_hour {
            if hour >= self.start_hour {
                today.checked_add_signed(TimeDelta::days(1))
            } else if hour < self.end_hour {
                Some(today)
            } else {
                None
            }
        } else {
            None
        }?;
        let closing = closing_day.and_hms_opt(self.end_hour, 0, 0)?;
        // A fixed offset maps every local time to exactly one instant.
        self.offset
            .from_local_datetime(&closing)
            .single()
            .map(|t| t.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 10, hour, minute, 0)
            .single()
            .expect("valid")
    }

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).expect("valid")
    }

    #[test]
    fn the_default_window_holds_from_two_to_five() {
        let window = Window::new(2, 5, utc());
        assert_eq!(window.closes_after(at(1, 59)), None);
        assert_eq!(window.closes_after(at(2, 0)), Some(at(5, 0)));
        assert_eq!(window.closes_after(at(4, 59)), Some(at(5, 0)));
        assert_eq!(window.closes_after(at(5, 0)), None);
    }

    #[test]
    fn a_window_across_midnight_closes_the_next_morning() {
        let window = Window::new(22, 3, utc());
        let next_morning = at(3, 0) + TimeDelta::days(1);
        assert_eq!(window.closes_after(at(23, 0)), Some(next_morning));
        assert_eq!(window.closes_after(at(1, 0)), Some(at(3, 0)));
        assert_eq!(window.closes_after(at(12, 0)), None);
    }

    #[test]
    fn an_empty_window_never_holds() {
        let window = Window::new(4, 4, utc());
        assert!((0..24).all(|h| window.closes_after(at(h, 30)).is_none()));
    }

    #[test]
    fn the_window_is_read_in_the_servers_offset() {
        // 02:30 at UTC+2 is 00:30 UTC; 05:30 there is 03:30 UTC.
        let window = Window::new(2, 5, FixedOffset::east_opt(2 * 3600).expect("valid"));
        assert_eq!(window.closes_after(at(0, 30)), Some(at(3, 0)));
        assert_eq!(window.closes_after(at(3, 30)), None);
    }
}
