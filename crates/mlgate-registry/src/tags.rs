//! Tags: a name for one build. Moving or deleting a tag appends to `tag_events`, so "which
//! build was `main-mobilenet` on March 3rd" always has an answer.

use rusqlite::{params, OptionalExtension, Row};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};
use crate::Registry;

/// The tag `mlgate baseline` manages; `mlgate ci` gates against it by default.
pub const BASELINE_TAG: &str = "mlgate-baseline";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tag {
    pub name: String,
    pub build_id: String,
    #[serde(with = "crate::time::rfc3339")]
    #[schemars(with = "crate::time::Rfc3339")]
    pub updated_at: i64,
}

/// One change of a tag. `build_id` is `None` when the tag was deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TagEvent {
    pub name: String,
    pub build_id: Option<String>,
    pub previous_build_id: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    #[schemars(with = "crate::time::Rfc3339")]
    pub at: i64,
    pub machine_id: String,
    pub hostname: String,
}

/// What setting a tag did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TagChange {
    pub tag: Tag,
    /// The build it pointed at before, if it existed and pointed elsewhere.
    pub previous_build_id: Option<String>,
    /// False when the tag already pointed at this build.
    pub changed: bool,
}

fn tag_from_row(r: &Row<'_>) -> rusqlite::Result<Tag> {
    Ok(Tag {
        name: r.get(0)?,
        build_id: r.get(1)?,
        updated_at: r.get(2)?,
    })
}

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<TagEvent> {
    Ok(TagEvent {
        name: r.get(0)?,
        build_id: r.get(1)?,
        previous_build_id: r.get(2)?,
        at: r.get(3)?,
        machine_id: r.get(4)?,
        hostname: r.get(5)?,
    })
}

fn check_name(name: &str, allow_reserved: bool) -> Result<()> {
    crate::builds::check_text("tag name", name, 128)?;
    if name != name.trim() || name.starts_with('-') {
        return Err(RegistryError::invalid(
            "tag name",
            name,
            "must not start with `-` or with or end in spaces",
        ));
    }
    if !allow_reserved && name == BASELINE_TAG {
        return Err(RegistryError::ReservedTag(name.to_string()));
    }
    Ok(())
}

impl Registry {
    pub fn tag(&self, name: &str) -> Result<Option<Tag>> {
        Ok(self
            .conn
            .prepare_cached("SELECT name, build_id, updated_at FROM tags WHERE name = ?1")?
            .query_row([name], tag_from_row)
            .optional()?)
    }

    pub fn tags(&self) -> Result<Vec<Tag>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, build_id, updated_at FROM tags ORDER BY name")?;
        let rows = stmt
            .query_map([], tag_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn tags_of_build(&self, build_id: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM tags WHERE build_id = ?1 ORDER BY name")?;
        let rows = stmt
            .query_map([build_id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Point `name` at `build_id`. An existing tag pointing elsewhere moves only with
    /// `allow_move`; the reserved baseline tag only with `allow_reserved`.
    pub fn set_tag(
        &mut self,
        name: &str,
        build_id: &str,
        allow_move: bool,
        allow_reserved: bool,
    ) -> Result<TagChange> {
        check_name(name, allow_reserved)?;
        let machine = self.machine.clone();
        let now = crate::time::now_ms();
        let tx = self.write_tx()?;
        let exists: bool = tx
            .prepare_cached("SELECT 1 FROM builds WHERE id = ?1")?
            .exists([build_id])?;
        if !exists {
            return Err(RegistryError::UnknownBuild {
                reference: build_id.to_string(),
            });
        }
        let current: Option<String> = tx
            .prepare_cached("SELECT build_id FROM tags WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?;
        if current.as_deref() == Some(build_id) {
            let tag = tx
                .prepare_cached("SELECT name, build_id, updated_at FROM tags WHERE name = ?1")?
                .query_row([name], tag_from_row)?;
            tx.commit()?;
            return Ok(TagChange {
                tag,
                previous_build_id: None,
                changed: false,
            });
        }
        if let Some(cur) = &current {
            if !allow_move {
                return Err(RegistryError::TagExists {
                    name: name.to_string(),
                    build: cur.clone(),
                });
            }
        }
        tx.execute(
            "INSERT INTO tags (name, build_id, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(name) DO UPDATE SET build_id = excluded.build_id, \
             updated_at = excluded.updated_at",
            params![name, build_id, now],
        )?;
        tx.execute(
            "INSERT INTO tag_events (name, build_id, previous_build_id, at, machine_id, \
             hostname) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![name, build_id, current, now, machine.id, machine.hostname],
        )?;
        tx.commit()?;
        Ok(TagChange {
            tag: Tag {
                name: name.to_string(),
                build_id: build_id.to_string(),
                updated_at: now,
            },
            previous_build_id: current,
            changed: true,
        })
    }

    /// Delete a tag (its history stays). Returns the tag as it was.
    pub fn delete_tag(&mut self, name: &str, allow_reserved: bool) -> Result<Tag> {
        if !allow_reserved && name == BASELINE_TAG {
            return Err(RegistryError::ReservedTag(name.to_string()));
        }
        let machine = self.machine.clone();
        let now = crate::time::now_ms();
        let tx = self.write_tx()?;
        let tag = tx
            .prepare_cached("SELECT name, build_id, updated_at FROM tags WHERE name = ?1")?
            .query_row([name], tag_from_row)
            .optional()?
            .ok_or_else(|| RegistryError::UnknownTag(name.to_string()))?;
        tx.execute("DELETE FROM tags WHERE name = ?1", [name])?;
        tx.execute(
            "INSERT INTO tag_events (name, build_id, previous_build_id, at, machine_id, \
             hostname) VALUES (?1, NULL, ?2, ?3, ?4, ?5)",
            params![name, tag.build_id, now, machine.id, machine.hostname],
        )?;
        tx.commit()?;
        Ok(tag)
    }

    /// Changes of the tags named in `names` or starting with one of `prefixes`, newest first.
    /// Tag events are few (people move tags by hand), so filtering here is cheap.
    pub fn tag_events(&self, names: &[&str], prefixes: &[&str]) -> Result<Vec<TagEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, build_id, previous_build_id, at, machine_id, hostname \
             FROM tag_events ORDER BY at DESC, id DESC",
        )?;
        let mut out = Vec::new();
        for row in stmt.query_map([], event_from_row)? {
            let e = row?;
            if names.contains(&e.name.as_str()) || prefixes.iter().any(|p| e.name.starts_with(p)) {
                out.push(e);
            }
        }
        Ok(out)
    }
}
