//! The peer row: a real Go provider, `hashicorp/aws`, installed from a local filesystem mirror and planned beside
//! ours, so our figures sit next to what a widely used provider costs on the same machine in the same run.
//!
//! Its resource is `aws_ssm_parameter` with every credential and account check skipped and fake keys: planning a
//! create then needs no API call, as ours doesn't. No mirror, or no aws provider in it, only skips the row.

use std::path::{Path, PathBuf};

use crate::harness::{Terraform, Workspace, mirror_cli_config};

/// The provider's address in the mirror.
pub const SOURCE: &str = "registry.terraform.io/hashicorp/aws";
/// `TS_BENCH_PLUGIN_MIRROR` names the mirror; this machine image keeps one here.
pub const DEFAULT_MIRROR: &str = "/opt/tf-plugins";

/// The aws provider found in a mirror.
pub struct Peer {
    pub mirror: PathBuf,
    pub version: String,
}

impl Peer {
    /// The newest `hashicorp/aws` for this platform in `mirror`, in the unpacked (`<version>/<os>_<arch>/`) or the
    /// packed (`terraform-provider-aws_<version>_<os>_<arch>.zip`) layout; otherwise why there is none.
    pub fn find(mirror: &Path) -> Result<Self, String> {
        let dir = mirror.join(SOURCE);
        let platform = platform();
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| format!("no {SOURCE} in the mirror {} ({e})", mirror.display()))?;
        let mut versions: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let packed = name
                    .strip_prefix("terraform-provider-aws_")
                    .and_then(|rest| rest.strip_suffix(&format!("_{platform}.zip")))
                    .map(str::to_owned);
                packed.or_else(|| e.path().join(&platform).is_dir().then_some(name))
            })
            .collect();
        versions.sort_by_key(|v| {
            v.split('.')
                .map(|n| n.parse::<u64>().unwrap_or(0))
                .collect::<Vec<_>>()
        });
        let version = versions
            .pop()
            .ok_or_else(|| format!("no {SOURCE} for {platform} in {}", dir.display()))?;
        Ok(Self {
            mirror: mirror.to_path_buf(),
            version,
        })
    }

    /// A workspace that installs this provider from the mirror (`terraform init`, not timed) and plans `n` creates.
    pub fn workspace(&self, tf: &Terraform, ours: &Path, n: usize) -> Workspace {
        let ws = Workspace::with_provider(tf.clone(), ours);
        ws.write_cli_config(&mirror_cli_config(&self.mirror, SOURCE));
        ws.write("main.tf", &self.config(n));
        ws
    }

    /// `n` SSM parameters. The provider block skips every call the provider could make before a plan (credential
    /// validation, account id, instance metadata, region check); the keys are placeholders that nothing checks.
    fn config(&self, n: usize) -> String {
        format!(
            r#"terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{version}"
    }}
  }}
}}

provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "bench-placeholder-access-key"
  secret_key                  = "bench-placeholder-secret-key"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}}

resource "aws_ssm_parameter" "r" {{
  count = {n}
  name  = "/bench/p{n}-${{count.index}}"
  type  = "String"
  value = "v-${{count.index}}"
}}
"#,
            version = self.version
        )
    }
}

/// Terraform's name for this platform, e.g. `linux_amd64`.
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}
