//! The resource identity of `thingspace_alternating_password_rotation` (Terraform 1.12 and later): the two user
//! names in the order of `usernames`, so `import { to = ..., identity = { usernames = ["a", "b"] } }` adopts the
//! pair exactly as `terraform import ... a,b` does.

use serde::{Deserialize, Serialize};

use super::model::{Model, TYPE_NAME};
use crate::plugin::cty::{Attr, Type};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, quote};
use crate::plugin::identity::{Identity, IdentityAttribute, IdentitySchema};
use crate::resources::username::username_problem;

/// The identity schema's version; the first one.
pub const IDENTITY_VERSION: i64 = 0;

/// The identity: one attribute per identity schema attribute, like the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PairIdentity {
    pub usernames: Attr<Vec<Attr<String>>>,
}

/// The identity schema, with the description the generated docs show.
pub fn schema() -> IdentitySchema {
    IdentitySchema {
        version: IDENTITY_VERSION,
        attributes: vec![IdentityAttribute::required(
            "usernames",
            Type::List(Box::new(Type::String)),
            "The two ThingSpace (M2M) users that take turns, in the order of `usernames`.",
        )],
    }
}

/// The identity as the plugin serves it: a state's `usernames`, and the import of the pair an identity names.
pub fn identity() -> Identity<Model> {
    Identity::new(
        schema(),
        |m: &Model| PairIdentity {
            usernames: m.usernames.clone(),
        },
        import_identity,
    )
}

/// Imports the pair an identity names through the import by ID, so both check the names alike and neither calls
/// the API.
pub fn import_identity(identity: PairIdentity) -> Result<Model, Diagnostics> {
    let names: Option<Vec<&String>> = match &identity.usernames {
        Attr::Known(list) => list.iter().map(Attr::known).collect(),
        _ => None,
    };
    let usage = "The identity's usernames names the two ThingSpace users to import, for example: import { to = \
thingspace_alternating_password_rotation.api, identity = { usernames = [\"svc-blue\", \"svc-green\"] } }.";
    let Some(names) = names else {
        return Err(Diagnostic::error(
            "Invalid import identity",
            format!("{usage} Its usernames is null, unknown, or holds a null or unknown name."),
        )
        .into());
    };
    if names.iter().any(|n| n.contains(',')) {
        return Err(Diagnostic::error(
            "Invalid import identity",
            format!("{usage} A user name cannot contain \",\"."),
        )
        .into());
    }
    let id = names
        .iter()
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(",");
    import(&id).map_err(|d| {
        Diagnostic::error("Invalid import identity", format!("{usage} {}", d.detail)).into()
    })
}

/// Imports by `userA,userB`. No API call: the next plan shows the rotation of both users, which needs both seeds.
pub fn import(id: &str) -> Result<Model, Diagnostic> {
    let bad = |why: String| {
        Diagnostic::error(
            "Invalid import ID",
            format!(
                "The import ID is the two ThingSpace user names joined with a comma, in the order of usernames, for \
example: terraform import {TYPE_NAME}.api svc-blue,svc-green. {} {why}.",
                quote(id)
            ),
        )
    };
    let parts: Vec<&str> = id.split(',').collect();
    let [a, b] = parts.as_slice() else {
        return Err(bad(format!("has {} names, not 2", parts.len())));
    };
    for n in [a, b] {
        if let Some(problem) = username_problem(n) {
            return Err(bad(format!("does not name a user: {} {problem}", quote(n))));
        }
    }
    if a == b {
        return Err(bad("names the same user twice".to_owned()));
    }
    Ok(Model {
        id: Attr::Known(id.to_owned()),
        usernames: Attr::Known(vec![
            Attr::Known((*a).to_owned()),
            Attr::Known((*b).to_owned()),
        ]),
        ..Model::default()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn pair(names: &[&str]) -> PairIdentity {
        PairIdentity {
            usernames: Attr::Known(names.iter().map(|n| Attr::Known((*n).to_owned())).collect()),
        }
    }

    #[test]
    fn import_by_identity_adopts_the_pair_as_import_by_id_does() {
        let by_identity = import_identity(pair(&["svc-blue", "svc-green"])).unwrap();
        assert_eq!(by_identity, import("svc-blue,svc-green").unwrap());
        let value = identity().of(&by_identity).unwrap();
        assert_eq!(
            value,
            crate::plugin::cty::Value::Object(
                [(
                    "usernames".to_owned(),
                    crate::plugin::cty::Value::List(vec![
                        crate::plugin::cty::Value::String("svc-blue".into()),
                        crate::plugin::cty::Value::String("svc-green".into()),
                    ])
                )]
                .into()
            )
        );
    }

    #[test]
    fn an_unusable_identity_is_refused_saying_why() {
        for (bad, why) in [
            (pair(&["svc-blue"]), "has 1 names, not 2"),
            (pair(&["a", "b", "c"]), "has 3 names, not 2"),
            (pair(&["a", "a"]), "names the same user twice"),
            (pair(&["a,b", "c"]), "cannot contain"),
            (PairIdentity::default(), "is null, unknown"),
        ] {
            let diags = import_identity(bad).unwrap_err();
            assert_eq!(diags.0[0].summary, "Invalid import identity");
            assert!(diags.0[0].detail.contains(why), "{}", diags.0[0].detail);
            assert!(diags.0[0].detail.contains("identity = { usernames = ["));
        }
    }

    #[test]
    fn the_identity_schema_has_one_required_list_of_strings() {
        let schema = schema().to_proto();
        assert_eq!(schema.version, IDENTITY_VERSION);
        let attrs: Vec<_> = schema
            .identity_attributes
            .iter()
            .map(|a| (a.name.as_str(), a.r#type.as_slice(), a.required_for_import))
            .collect();
        assert_eq!(attrs, [("usernames", &b"[\"list\",\"string\"]"[..], true)]);
    }
}
