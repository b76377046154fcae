//! The test provider `notes` and its one resource type, `example_note`: notes kept in memory on a configured shelf.
//! Served with or without a resource identity (`{ name }`), to prove a type only declares one.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::plugin::adapter::{self, ServedResource};
use crate::plugin::cty::{Attr, Number, Type};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::identity::{Identity, IdentityAttribute, IdentitySchema};
use crate::plugin::provider::Provider;
use crate::plugin::resource::{ApplyRequest, ClientCapabilities, Outcome, PlanRequest, Resource};
use crate::plugin::schema::{Attribute, Presence, Schema};
use crate::plugin::service::ProviderService;
use crate::shutdown::Shutdown;

pub(crate) const NOTE: &str = "example_note";

/// The test provider's block: a shelf name, which must be known for the provider to be configured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ShelfConfig {
    pub(crate) shelf: Attr<String>,
}

/// What configuring the test provider produces: the in-memory notes, by name.
#[derive(Debug, Default)]
pub(crate) struct Shelf {
    pub(crate) name: String,
    pub(crate) notes: Mutex<BTreeMap<String, String>>,
}

/// The test provider; `identified` serves `example_note` with its resource identity.
#[derive(Default)]
pub(crate) struct Notes {
    pub(crate) identified: bool,
}

impl Provider for Notes {
    type Config = ShelfConfig;
    type Data = Shelf;

    fn address(&self) -> &'static str {
        "registry.terraform.io/example/notes"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            description: "Notes kept in memory.",
            attributes: vec![Attribute::new(
                "shelf",
                Type::String,
                Presence::Optional,
                "Shelf name.",
            )],
        }
    }

    fn validate(&self, config: &ShelfConfig) -> Diagnostics {
        match &config.shelf {
            Attr::Known(s) if s.is_empty() => Diagnostic::error("Empty shelf", "Name the shelf.")
                .at("shelf")
                .into(),
            _ => Diagnostics::new(),
        }
    }

    fn configure(&self, config: &ShelfConfig) -> Result<Option<Shelf>, Diagnostics> {
        Ok(config.shelf.known().map(|name| Shelf {
            name: name.clone(),
            ..Shelf::default()
        }))
    }

    fn resource_types(&self) -> Vec<ServedResource<Shelf>> {
        vec![adapter::serve(NoteResource {
            identified: self.identified,
        })]
    }
}

/// `example_note`'s attributes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Note {
    pub(crate) id: Attr<String>,
    pub(crate) name: Attr<String>,
    pub(crate) body: Attr<String>,
    pub(crate) token_wo: Attr<String>,
    pub(crate) revision: Attr<Number>,
}

/// `example_note`: a note on the configured shelf. It deliberately leaves its write-only `token_wo` in every state it
/// answers with, so the tests see the adapter null it.
pub(crate) struct NoteResource {
    identified: bool,
}

/// `example_note`'s identity: its name. Version 0 stored it with a `note:` prefix (and a `shelf` attribute since
/// dropped), which the upgrade strips.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct NoteIdentity {
    pub(crate) name: Attr<String>,
}

pub(crate) fn note_identity() -> Identity<Note> {
    let schema = IdentitySchema {
        version: 1,
        attributes: vec![IdentityAttribute::required(
            "name",
            Type::String,
            "The note's name.",
        )],
    };
    Identity::new(
        schema,
        |m: &Note| NoteIdentity {
            name: m.name.clone(),
        },
        |i: NoteIdentity| match i.name {
            Attr::Known(name) => NoteResource { identified: true }.import(&name),
            _ => Err(Diagnostic::error("Invalid import identity", "Give the note's name.").into()),
        },
    )
    .upgraded_with(|version, i: NoteIdentity| {
        Ok(match (version, i.name) {
            (0, Attr::Known(n)) => NoteIdentity {
                name: Attr::Known(n.strip_prefix("note:").unwrap_or(&n).to_owned()),
            },
            (_, name) => NoteIdentity { name },
        })
    })
}

impl NoteResource {
    fn stored(shelf: Option<&Shelf>, name: &Attr<String>) -> Option<String> {
        let (shelf, name) = (shelf?, name.known()?);
        shelf.notes.lock().ok()?.get(name).cloned()
    }

    fn write(shelf: Option<&Shelf>, m: &Note) -> Result<(), Diagnostics> {
        let shelf = shelf
            .ok_or_else(|| Diagnostics::from(Diagnostic::error("No shelf", "Configure one.")))?;
        if let (Attr::Known(name), Ok(mut notes)) = (&m.name, shelf.notes.lock()) {
            notes.insert(name.clone(), m.body.known().cloned().unwrap_or_default());
        }
        Ok(())
    }

    fn applied(shelf: Option<&Shelf>, planned: Note, revision: i64) -> Outcome<Option<Note>> {
        match Self::write(shelf, &planned) {
            Ok(()) => Outcome {
                state: Some(Note {
                    revision: Attr::Known(Number::from(revision)),
                    ..planned
                }),
                private: format!("shelf={}", shelf.map_or("", |s| &s.name)).into_bytes(),
                diagnostics: Diagnostics::new(),
            },
            Err(d) => Outcome {
                diagnostics: d,
                ..Outcome::new(None)
            },
        }
    }
}

impl Resource for NoteResource {
    type Model = Note;
    type Data = Shelf;

    fn type_name(&self) -> &'static str {
        NOTE
    }

    fn schema(&self) -> Schema {
        use Presence::*;
        Schema {
            version: 1,
            description: "A note.",
            attributes: vec![
                Attribute::new("id", Type::String, Computed, "The name."),
                Attribute::new("name", Type::String, Required, "Name.").requires_replace(),
                Attribute::new("body", Type::String, Optional, "Text."),
                Attribute::new("token_wo", Type::String, Optional, "Token.")
                    .sensitive()
                    .write_only(),
                Attribute::new("revision", Type::Number, Computed, "Revision."),
            ],
        }
    }

    fn validate(&self, config: &Note, client: ClientCapabilities) -> Diagnostics {
        if !config.token_wo.is_null() && !client.write_only_attributes_allowed {
            return Diagnostic::error("Old Terraform", "token_wo needs 1.11.")
                .at("token_wo")
                .into();
        }
        Diagnostics::new()
    }

    async fn plan(&self, _shelf: Option<&Shelf>, req: PlanRequest<'_, Note>) -> Outcome<Note> {
        let unchanged = req.prior.filter(|p| p.body == req.config.body);
        let planned = Note {
            id: req.config.name.clone(),
            revision: unchanged.map_or(Attr::Unknown, |p| p.revision.clone()),
            ..req.config.clone()
        };
        Outcome {
            private: [b"planned:".as_slice(), req.prior_private].concat(),
            ..Outcome::new(planned)
        }
    }

    fn plan_destroy(&self, prior: &Note, _prior_private: &[u8]) -> Outcome<()> {
        Outcome {
            private: b"destroy".to_vec(),
            diagnostics: Diagnostic::warning("Destroying", format!("{:?}", prior.name)).into(),
            state: (),
        }
    }

    async fn create(
        &self,
        shelf: Option<&Shelf>,
        req: ApplyRequest<'_, Note>,
    ) -> Outcome<Option<Note>> {
        assert_eq!(
            req.planned_private, b"planned:",
            "plan's private bytes reach the apply"
        );
        Self::applied(shelf, req.planned, 1)
    }

    async fn update(
        &self,
        shelf: Option<&Shelf>,
        prior: &Note,
        req: ApplyRequest<'_, Note>,
    ) -> Outcome<Option<Note>> {
        if req.planned.revision.is_known() {
            return Outcome::new(Some(req.planned));
        }
        let revision = prior.revision.known().and_then(Number::as_i64).unwrap_or(0);
        Self::applied(shelf, req.planned, revision + 1)
    }

    async fn delete(
        &self,
        shelf: Option<&Shelf>,
        prior: &Note,
        _private: &[u8],
    ) -> Outcome<Option<Note>> {
        if let (Some(shelf), Attr::Known(name)) = (shelf, &prior.name) {
            shelf.notes.lock().unwrap().remove(name);
        }
        Outcome::new(None)
    }

    async fn read(
        &self,
        shelf: Option<&Shelf>,
        current: &Note,
        private: &[u8],
    ) -> Outcome<Option<Note>> {
        let state = Self::stored(shelf, &current.name).map(|body| Note {
            body: Attr::Known(body),
            token_wo: Attr::Known("kept by mistake".into()),
            ..current.clone()
        });
        Outcome {
            private: private.to_vec(),
            ..Outcome::new(state)
        }
    }

    fn import(&self, id: &str) -> Result<Note, Diagnostics> {
        if id.is_empty() {
            return Err(Diagnostic::error("Invalid import ID", "Give the note's name.").into());
        }
        Ok(Note {
            id: Attr::Known(id.into()),
            name: Attr::Known(id.into()),
            token_wo: Attr::Known("from nowhere".into()),
            ..Note::default()
        })
    }

    fn identity(&self) -> Option<Identity<Note>> {
        self.identified.then(note_identity)
    }

    fn upgrade(&self, version: i64, prior: Note) -> Result<Note, Diagnostics> {
        // Version 0 had no revision.
        Ok(match (version, &prior.revision) {
            (0, Attr::Null) => Note {
                revision: Attr::Known(Number::from(0i64)),
                ..prior
            },
            _ => prior,
        })
    }
}

/// The service of the test provider.
pub(crate) fn service() -> ProviderService<Notes> {
    ProviderService::new(Notes::default(), Shutdown::new())
}

/// The service of the test provider whose `example_note` has a resource identity.
pub(crate) fn identified_service() -> ProviderService<Notes> {
    ProviderService::new(Notes { identified: true }, Shutdown::new())
}

pub(crate) fn note_type() -> Type {
    NoteResource { identified: false }.schema().value_type()
}
