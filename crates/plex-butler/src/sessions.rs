//! Who is watching (`GET /status/sessions`): the natural guard for
//! maintenance that should wait until nobody watches.

use std::fmt;

use plex_butler_raw::types as raw;

use crate::call::Progress;
use crate::operations::GET_SESSIONS;
use crate::response::excerpt;
use crate::settings::Lenient;
use crate::{Client, Error};

/// What is playing on the server now.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Sessions {
    /// How many playbacks there are: the server's `size`, or the number
    /// listed when it sends none.
    pub count: u32,
    /// The playbacks, in the server's order.
    pub playing: Vec<Playback>,
}

impl Sessions {
    /// Whether nobody is watching.
    pub fn is_idle(&self) -> bool {
        self.count == 0
    }
}

/// One playback. Servers send many more fields; these are the ones worth
/// showing. Text fields are empty when the server sent none.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Playback {
    /// What plays: a film's or an episode's title.
    pub title: String,
    /// For an episode the show, for a track the artist, when there is one.
    pub grandparent_title: Option<String>,
    /// What kind of item plays: `movie`, `episode`, `track`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Who watches (the user's name).
    pub user: String,
    /// On what (the player's name).
    pub player: String,
    /// `playing`, `paused` or `buffering`.
    pub state: String,
}

impl fmt::Display for Playback {
    /// `alice: Big Buck Bunny on Living Room TV (playing)`, the server's
    /// words escaped and cut short.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |text: &str| excerpt(text.as_bytes(), None);
        let user = if self.user.is_empty() {
            "someone".to_owned()
        } else {
            shown(&self.user)
        };
        write!(f, "{user}: ")?;
        if let Some(show) = self.grandparent_title.as_deref().filter(|s| !s.is_empty()) {
            write!(f, "{} - ", shown(show))?;
        }
        write!(f, "{}", shown(&self.title))?;
        if !self.player.is_empty() {
            write!(f, " on {}", shown(&self.player))?;
        }
        if !self.state.is_empty() {
            write!(f, " ({})", shown(&self.state))?;
        }
        Ok(())
    }
}

fn sessions_from_raw(answer: raw::SessionsResponse, _: Option<&str>) -> Result<Sessions, Lenient> {
    let container = answer.media_container;
    let playing: Vec<Playback> = container
        .metadata
        .into_iter()
        .map(|item| Playback {
            title: item.title.unwrap_or_default(),
            grandparent_title: item.grandparent_title,
            kind: item.type_.unwrap_or_default(),
            user: item.user.and_then(|u| u.title).unwrap_or_default(),
            state: item
                .player
                .as_ref()
                .and_then(|p| p.state.clone())
                .unwrap_or_default(),
            player: item.player.and_then(|p| p.title).unwrap_or_default(),
        })
        .collect();
    let listed = u32::try_from(playing.len()).unwrap_or(u32::MAX);
    let count = match container.size {
        Some(raw::PlexInteger::Integer(n)) => u32::try_from(n).ok(),
        Some(raw::PlexInteger::String(s)) => s.trim().parse().ok(),
        None => None,
    }
    // A size that is not a count says nothing; the list still does.
    .map_or(listed, |size: u32| size.max(listed));
    Ok(Sessions { count, playing })
}

impl Client {
    /// Lists what is playing now (`GET /status/sessions`).
    ///
    /// Retried on every passing failure: reading has no effect.
    ///
    /// # Errors
    ///
    /// As [`Client::tasks`].
    pub async fn sessions(&self) -> Result<Sessions, Error> {
        let progress = &Progress::default();
        self.traced(&GET_SESSIONS, None, progress, async {
            self.with_retries(&GET_SESSIONS, progress, |deadline| async move {
                let result = self.shared.raw.get_sessions().send().await;
                self.decoded(
                    result,
                    sessions_from_raw,
                    "the sessions",
                    deadline,
                    progress,
                )
                .await
            })
            .await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Sessions {
        let answer: raw::SessionsResponse = match serde_json::from_str(json) {
            Ok(answer) => answer,
            Err(e) => panic!("{json}: {e}"),
        };
        match sessions_from_raw(answer, None) {
            Ok(sessions) => sessions,
            Err(never) => match never {},
        }
    }

    #[test]
    fn the_count_is_the_size_or_the_length_of_the_list() {
        assert_eq!(decode(r#"{"MediaContainer":{"size":0}}"#).count, 0);
        assert_eq!(decode(r#"{"MediaContainer":{"size":"2"}}"#).count, 2);
        let listed =
            r#"{"MediaContainer":{"Metadata":[{"title":"Sintel"},{"title":"Tears of Steel"}]}}"#;
        assert_eq!(decode(listed).count, 2);
        let wrong = r#"{"MediaContainer":{"size":"many","Metadata":[{"title":"Sintel"}]}}"#;
        assert_eq!(decode(wrong).count, 1);
    }

    #[test]
    fn a_playback_shows_who_watches_what_on_which_player() {
        let sessions = decode(
            r#"{"MediaContainer":{"size":1,"Metadata":[{"title":"Pilot","grandparentTitle":"Show",
                "type":"episode","User":{"title":"alice"},"Player":{"title":"TV\u001b[2J","state":"paused"}}]}}"#,
        );
        let shown: Vec<String> = sessions.playing.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["alice: Show - Pilot on TV\\u{1b}[2J (paused)"]);
    }
}
