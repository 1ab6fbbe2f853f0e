//! From activity events to records of ended activities: the rule that
//! pairs a start with its end, for programs that report what ran.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use crate::activity::{MAX_UUID_BYTES, clip, kept};
use crate::{Activity, ActivityEvent, ActivityEventKind};

/// How many running activities a log follows at once; past that, the
/// oldest is forgotten.
const RUNNING: usize = 1024;
/// How many distinct subtitles one record keeps; later ones are dropped.
const SUBTITLES: usize = 64;

/// Turns the [`ActivityEvent`]s of [`crate::Client::events`] into one
/// [`EndedActivity`] per activity that ends: when it started and ended,
/// how long it ran, its last progress, its subtitles in order, and
/// whether its start and end were seen live.
///
/// It follows up to 1024 running activities at once (the oldest is
/// forgotten past that) and keeps up to 64 subtitles per activity. What it
/// keeps is clipped: an activity's type, title, subtitles each to 1 KiB
/// (on a character boundary), its context only when it takes at most
/// 1 KiB as JSON; an event whose uuid is longer than 256 bytes is passed
/// over. So it holds at most about 70 MiB, whatever the server sends (a
/// real server's activities take a few hundred bytes each).
///
/// ```no_run
/// # async fn run(client: plex_butler::Client) -> Result<(), plex_butler::Error> {
/// use futures_util::StreamExt as _;
/// use plex_butler::{ActivityLog, Event, EventOptions};
///
/// let mut log = ActivityLog::new();
/// let mut events = client.events(EventOptions::new());
/// while let Some(event) = events.next().await {
///     if let Event::Activity(change) = event? {
///         if let Some(ended) = log.record(&change) {
///             println!("{} ran {:?}", ended.uuid, ended.duration);
///         }
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct ActivityLog {
    running: VecDeque<Following>,
}

#[derive(Debug)]
struct Following {
    uuid: String,
    activity: Option<Activity>,
    first_seen: SystemTime,
    first_seen_at: Instant,
    start_seen_live: bool,
    subtitles: Vec<String>,
}

/// One activity that ended, as an [`ActivityLog`] saw it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct EndedActivity {
    /// The activity's id.
    pub uuid: String,
    /// The activity as last seen (its type, title, progress), when any
    /// event carried it.
    pub activity: Option<Activity>,
    /// When the log first saw it: its start when
    /// [`EndedActivity::start_seen_live`], otherwise when a (re)connect
    /// found it running (it started earlier). `None` when the log never
    /// saw it run, only end.
    pub started: Option<SystemTime>,
    /// When the log saw it end (for an end found after a reconnect: when
    /// it was found; it ended earlier).
    pub ended: SystemTime,
    /// From [`EndedActivity::started`] to [`EndedActivity::ended`];
    /// `None` when the start was not seen at all.
    pub duration: Option<Duration>,
    /// Its last progress, in percent, when known.
    pub last_progress: Option<u8>,
    /// Its subtitles in the order seen, repeats in a row dropped (up to
    /// 64).
    pub subtitles: Vec<String>,
    /// Whether its start came as a live event.
    pub start_seen_live: bool,
    /// Whether its end came as a live event (`false`: found after a
    /// reconnect, see [`ActivityEvent::live`]).
    pub end_seen_live: bool,
}

impl ActivityLog {
    /// An empty log.
    ///
    /// ```
    /// let log = plex_butler::ActivityLog::new();
    /// # drop(log);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether an activity it follows as running is Butler work
    /// ([`Activity::is_butler`]): `false` once every Butler activity seen
    /// has ended (or none was seen).
    ///
    /// ```
    /// assert!(!plex_butler::ActivityLog::new().butler_running());
    /// ```
    pub fn butler_running(&self) -> bool {
        self.running().any(Activity::is_butler)
    }

    /// The activities it follows as running, oldest first, as last seen
    /// (clipped, see [`ActivityLog`]); one whose events carried no
    /// activity is left out.
    ///
    /// ```
    /// assert_eq!(plex_butler::ActivityLog::new().running().count(), 0);
    /// ```
    pub fn running(&self) -> impl Iterator<Item = &Activity> + '_ {
        self.running.iter().filter_map(|f| f.activity.as_ref())
    }

    /// Takes one event into account; returns the record of the activity
    /// when the event is its end. An end of an activity never seen
    /// running still gives a record (without start or duration). An
    /// event whose uuid is longer than 256 bytes is passed over (`None`).
    ///
    /// ```
    /// # fn show(log: &mut plex_butler::ActivityLog, change: &plex_butler::ActivityEvent) {
    /// if let Some(ended) = log.record(change) {
    ///     println!("{}: {:?}, subtitles {:?}", ended.uuid, ended.duration, ended.subtitles);
    /// }
    /// # }
    /// ```
    pub fn record(&mut self, event: &ActivityEvent) -> Option<EndedActivity> {
        if event.uuid.len() > MAX_UUID_BYTES {
            return None;
        }
        let now = SystemTime::now();
        let index = self.running.iter().position(|f| f.uuid == event.uuid);
        if event.kind == ActivityEventKind::Ended {
            let following = index.and_then(|i| self.running.remove(i));
            let mut ended = EndedActivity {
                uuid: event.uuid.clone(),
                activity: None,
                started: None,
                ended: now,
                duration: None,
                last_progress: None,
                subtitles: Vec::new(),
                start_seen_live: false,
                end_seen_live: event.live,
            };
            if let Some(mut following) = following {
                if let Some(activity) = &event.activity {
                    note(&mut following, activity);
                }
                ended.started = Some(following.first_seen);
                ended.duration = Some(following.first_seen_at.elapsed());
                ended.start_seen_live = following.start_seen_live;
                ended.subtitles = following.subtitles;
                ended.activity = following.activity;
            } else if let Some(activity) = &event.activity {
                ended.activity = Some(kept(activity));
                if !activity.subtitle.is_empty() {
                    ended.subtitles.push(clip(&activity.subtitle));
                }
            }
            ended.last_progress = ended.activity.as_ref().and_then(|a| a.progress);
            return Some(ended);
        }
        let index = match index {
            Some(index) => index,
            None => {
                if self.running.len() >= RUNNING {
                    self.running.pop_front();
                }
                self.running.push_back(Following {
                    uuid: event.uuid.clone(),
                    activity: None,
                    first_seen: now,
                    first_seen_at: Instant::now(),
                    start_seen_live: event.live && event.kind == ActivityEventKind::Started,
                    subtitles: Vec::new(),
                });
                self.running.len() - 1
            }
        };
        if let (Some(following), Some(activity)) = (self.running.get_mut(index), &event.activity) {
            note(following, activity);
        }
        None
    }
}

/// Notes what `activity` says of the one `following`: what is kept is
/// clipped ([`kept`]).
fn note(following: &mut Following, activity: &Activity) {
    let activity = kept(activity);
    let subtitle = &activity.subtitle;
    if !subtitle.is_empty()
        && following.subtitles.last() != Some(subtitle)
        && following.subtitles.len() < SUBTITLES
    {
        following.subtitles.push(subtitle.clone());
    }
    following.activity = Some(activity);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: ActivityEventKind, subtitle: &str, progress: u8, live: bool) -> ActivityEvent {
        ActivityEvent {
            kind,
            uuid: "a".to_owned(),
            activity: Some(Activity {
                uuid: "a".to_owned(),
                kind: "butler".to_owned(),
                cancellable: false,
                user_id: None,
                title: "Butler tasks".to_owned(),
                subtitle: subtitle.to_owned(),
                progress: Some(progress),
                context: serde_json::Map::new(),
            }),
            live,
            known: true,
        }
    }

    #[test]
    fn a_start_and_its_end_make_one_record_with_the_subtitles_in_order() {
        let mut log = ActivityLog::new();
        assert!(
            log.record(&change(ActivityEventKind::Started, "one", 0, true))
                .is_none()
        );
        assert!(
            log.record(&change(ActivityEventKind::Updated, "one", 10, true))
                .is_none()
        );
        assert!(log.butler_running());
        assert!(
            log.record(&change(ActivityEventKind::Updated, "two", 60, true))
                .is_none()
        );
        let ended = log
            .record(&change(ActivityEventKind::Ended, "two", 100, false))
            .expect("a record");
        assert_eq!(ended.subtitles, ["one", "two"]);
        assert_eq!(ended.last_progress, Some(100));
        assert!(ended.start_seen_live && !ended.end_seen_live);
        assert!(ended.started.is_some() && ended.duration.is_some());
        assert!(log.running.is_empty());
        assert!(!log.butler_running());
    }

    #[test]
    fn an_end_never_seen_running_still_gives_a_record_without_a_start() {
        let mut log = ActivityLog::new();
        let ended = log
            .record(&change(ActivityEventKind::Ended, "last", 100, true))
            .expect("a record");
        assert_eq!((ended.started, ended.duration), (None, None));
        assert_eq!(ended.subtitles, ["last"]);
    }

    #[test]
    fn what_it_keeps_of_many_large_activities_is_clipped() {
        let mut log = ActivityLog::new();
        let big = "ü".repeat(40_000);
        for n in 0..(RUNNING + 5) {
            for step in 0..3 {
                let mut event = change(ActivityEventKind::Updated, "", 10, true);
                event.uuid = n.to_string();
                if let Some(activity) = &mut event.activity {
                    activity.uuid = n.to_string();
                    activity.title = big.clone();
                    activity.subtitle = format!("{step}{big}");
                    activity.context.insert("k".to_owned(), big.clone().into());
                }
                assert!(log.record(&event).is_none());
            }
        }
        assert_eq!(log.running.len(), RUNNING);
        for following in &log.running {
            let activity = following.activity.as_ref().expect("an activity");
            assert!(activity.title.len() <= 1024 && activity.subtitle.len() <= 1024);
            assert!(activity.context.is_empty());
            assert_eq!(following.subtitles.len(), 3);
            assert!(following.subtitles.iter().all(|s| s.len() <= 1024));
        }
        assert_eq!(log.running().count(), RUNNING);
        let mut long = change(ActivityEventKind::Started, "", 0, true);
        long.uuid = "u".repeat(300);
        assert!(log.record(&long).is_none());
        assert!(log.running.iter().all(|f| f.uuid.len() < 300));
    }
}
