//! The resource identity of `thingspace_password_rotation` (Terraform 1.12 and later): the user name, which is also
//! the import ID, so `import { to = ..., identity = { username = "svc-ci" } }` adopts the same user, in the same way,
//! as `terraform import ... svc-ci`.

use serde::{Deserialize, Serialize};

use super::model::Model;
use crate::plugin::cty::{Attr, Type};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, quote};
use crate::plugin::identity::{Identity, IdentityAttribute, IdentitySchema};
use crate::resources::username::username_problem;

/// The identity schema's version; the first one.
pub const IDENTITY_VERSION: i64 = 0;

/// The identity: one attribute per identity schema attribute, like the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserIdentity {
    pub username: Attr<String>,
}

/// The identity schema, with the description the generated docs show.
pub fn schema() -> IdentitySchema {
    IdentitySchema {
        version: IDENTITY_VERSION,
        attributes: vec![IdentityAttribute::required(
            "username",
            Type::String,
            "The ThingSpace (M2M) user whose password the resource rotates.",
        )],
    }
}

/// The identity as the plugin serves it: a state's `username`, and the import of the user an identity names.
pub fn identity() -> Identity<Model> {
    Identity::new(
        schema(),
        |m: &Model| UserIdentity {
            username: m.username.clone(),
        },
        import_identity,
    )
}

/// Imports the user an identity names, exactly as an import by ID does: no API call, and the next apply rotates.
pub fn import_identity(identity: UserIdentity) -> Result<Model, Diagnostics> {
    let problem = match &identity.username {
        Attr::Known(u) => match username_problem(u) {
            None => return import(u).map_err(Diagnostics::from),
            Some(problem) => format!("{} is not a user name: {problem}", quote(u)),
        },
        Attr::Null => "it is null".to_owned(),
        Attr::Unknown => "it is not known until apply".to_owned(),
    };
    Err(Diagnostic::error(
        "Invalid import identity",
        format!(
            "The identity's username names the ThingSpace user to import, for example: import {{ to = \
thingspace_password_rotation.ci, identity = {{ username = \"svc-provisioning\" }} }}. Its username is not usable: \
{problem}."
        ),
    )
    .into())
}

/// Imports by user name. No API call: the next plan shows the rotation that takes the password under management.
pub fn import(id: &str) -> Result<Model, Diagnostic> {
    if let Some(problem) = username_problem(id) {
        return Err(Diagnostic::error(
            "Invalid import ID",
            format!(
                "The import ID is the ThingSpace user name, for example: terraform import \
thingspace_password_rotation.ci svc-provisioning. {} is not a user name: {problem}.",
                quote(id)
            ),
        ));
    }
    Ok(Model {
        id: Attr::Known(id.to_string()),
        username: Attr::Known(id.to_string()),
        ..Model::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(username: Attr<String>) -> String {
        let diags = import_identity(UserIdentity { username }).unwrap_err();
        assert_eq!(diags.0.len(), 1);
        assert_eq!(diags.0[0].summary, "Invalid import identity");
        diags.0[0].detail.clone()
    }

    #[test]
    fn import_by_identity_adopts_the_user_as_import_by_id_does() {
        let by_identity = import_identity(UserIdentity {
            username: Attr::Known("svc-ci".into()),
        })
        .unwrap();
        assert_eq!(by_identity, import("svc-ci").unwrap());
        assert_eq!(
            identity().of(&by_identity).unwrap(),
            crate::plugin::cty::Value::Object(
                [(
                    "username".to_owned(),
                    crate::plugin::cty::Value::String("svc-ci".into())
                )]
                .into()
            )
        );
    }

    #[test]
    fn an_unusable_identity_username_says_why_and_shows_an_example() {
        let detail = refusal(Attr::Known("svc,ci".into()));
        assert!(
            detail.contains("identity = { username = \"svc-provisioning\" }"),
            "{detail}"
        );
        assert!(
            detail.ends_with("\"svc,ci\" is not a user name: it contains \",\"."),
            "{detail}"
        );
        assert!(refusal(Attr::Null).ends_with("it is null."));
        assert!(refusal(Attr::Unknown).ends_with("it is not known until apply."));
    }

    #[test]
    fn the_identity_schema_has_one_required_string() {
        let schema = schema().to_proto();
        assert_eq!(schema.version, IDENTITY_VERSION);
        let attrs: Vec<_> = schema
            .identity_attributes
            .iter()
            .map(|a| (a.name.as_str(), a.r#type.as_slice(), a.required_for_import))
            .collect();
        assert_eq!(attrs, [("username", &b"\"string\""[..], true)]);
    }
}
