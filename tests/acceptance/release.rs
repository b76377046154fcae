//! Release packaging, tested the way CI pipelines install providers: `scripts/release.sh` writes the registry
//! artifacts, they go into a `filesystem_mirror`, and a real `terraform init` without `dev_overrides` must find,
//! verify and lock them before plan and apply run the installed binary against the emulator. The release also carries
//! a CycloneDX SBOM of the binary's crates, checked here against Cargo.lock.

use crate::common::{
    Emulator, PROVIDER_SOURCE, Workspace, flat, mirror_cli_config, provider_bin, repo_root,
    required_providers_at,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const NAME: &str = "terraform-provider-thingspace";
const ADDR: &str = "thingspace_password_rotation.ci";
const SEED: &str = "Seed-Passw0rd-1";

/// The artifacts of one `scripts/release.sh` run, shared by the tests of this file and `ci_examples`.
pub(crate) struct Package {
    dir: PathBuf,
    pub(crate) zip: PathBuf,
}

impl Package {
    pub(crate) fn zip_name(&self) -> String {
        file_name(&self.zip)
    }

    fn sums_path(&self) -> PathBuf {
        self.dir.join(format!("{NAME}_{VERSION}_SHA256SUMS"))
    }

    /// SHA256SUMS as file name → hex digest, checking each line's shape on the way.
    fn sums(&self) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.sums_path()).unwrap();
        text.lines()
            .map(|line| {
                let (hash, file) = line
                    .split_once("  ")
                    .unwrap_or_else(|| panic!("not a sha256sum line: {line:?}"));
                assert!(
                    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
                    "not a hex sha256: {line:?}"
                );
                (file.to_owned(), hash.to_owned())
            })
            .collect()
    }
}

/// Runs the release command once per test process. It packages the provider binary this test run uses
/// (`TS_PROVIDER_BIN`, which scripts/test.sh points at the release build it just made, else cargo's debug build)
/// instead of building a second time.
pub(crate) fn package() -> &'static Package {
    static PACKAGE: OnceLock<Package> = OnceLock::new();
    PACKAGE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("acc_release")
            .join("dist");
        let _ = std::fs::remove_dir_all(&dir);
        let bin = std::path::absolute(provider_bin()).unwrap();
        let out = Command::new(repo_root().join("scripts").join("release.sh"))
            .arg("--binary")
            .arg(&bin)
            .arg("--out-dir")
            .arg(&dir)
            .output()
            .expect("run scripts/release.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "scripts/release.sh failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let zip = PathBuf::from(stdout.lines().last().unwrap_or_default());
        Package { dir, zip }
    })
}

/// This machine's platform in Terraform's (Go's) naming, e.g. `linux_amd64`: what the release command packages
/// for by default and what `terraform init` looks for.
pub(crate) fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        other => panic!("no Terraform platform name for {other}"),
    };
    format!("{}_{arch}", std::env::consts::OS)
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// What python3's standard library sees in a file and a zip: the file's sha256, and each entry's name, Unix mode
/// and sha256, plus the `h1:` hash Terraform computes for a provider package (dirhash's Hash1: sha256 over the
/// sorted `<sha256 hex>  <name>\n` lines of the entries, base64). Computed here, independently of the release
/// script, so the lock-file assertions compare against something Terraform did not write.
fn inspect(zip: &Path, files: &[PathBuf]) -> Value {
    let script = r#"
import base64, hashlib, json, sys, zipfile
zip_path, files = sys.argv[1], sys.argv[2:]
z = zipfile.ZipFile(zip_path)
entries = [{"name": i.filename, "mode": i.external_attr >> 16,
            "sha256": hashlib.sha256(z.read(i.filename)).hexdigest()} for i in z.infolist()]
lines = "".join(sorted(f"{e['sha256']}  {e['name']}\n" for e in entries))
h1 = "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()
sums = {f: hashlib.sha256(open(f, "rb").read()).hexdigest() for f in files}
print(json.dumps({"entries": entries, "h1": h1, "sha256": sums}))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(zip)
        .args(files)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn release_artifacts_follow_the_registry_conventions() {
    let pkg = package();
    let zip_name = pkg.zip_name();
    assert_eq!(zip_name, format!("{NAME}_{VERSION}_{}.zip", platform()));
    assert_eq!(pkg.zip.parent().unwrap(), pkg.dir);

    let mut listed: Vec<String> = std::fs::read_dir(&pkg.dir)
        .unwrap()
        .map(|e| file_name(&e.unwrap().path()))
        .collect();
    listed.sort();
    let manifest_asset = format!("{NAME}_{VERSION}_manifest.json");
    let sbom_asset = format!("{NAME}_{VERSION}_{}.sbom.cdx.json", platform());
    let mut expected = vec![
        zip_name.clone(),
        manifest_asset.clone(),
        sbom_asset.clone(),
        format!("{NAME}_{VERSION}_SHA256SUMS"),
    ];
    expected.sort();
    assert_eq!(listed, expected, "exactly the registry's release assets");

    // The manifest asset is the repository's own file (HashiCorp's scaffolding keeps it at the root), copied
    // byte for byte, and it declares the one protocol the provider speaks.
    let manifest = std::fs::read(repo_root().join("terraform-registry-manifest.json")).unwrap();
    let parsed: Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(
        parsed,
        json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}})
    );
    assert_eq!(
        std::fs::read(pkg.dir.join(&manifest_asset)).unwrap(),
        manifest,
        "the release asset is the repository's manifest"
    );

    let bin = std::path::absolute(provider_bin()).unwrap();
    let facts = inspect(
        &pkg.zip,
        &[
            pkg.zip.clone(),
            pkg.dir.join(&manifest_asset),
            pkg.dir.join(&sbom_asset),
            bin.clone(),
        ],
    );
    let sha = |p: &Path| facts["sha256"][p.to_string_lossy().as_ref()].clone();

    // SHA256SUMS lists the zip, its SBOM and the manifest with their real digests.
    let sums = pkg.sums();
    let mut listed_sums = vec![zip_name.clone(), manifest_asset.clone(), sbom_asset.clone()];
    listed_sums.sort();
    assert_eq!(sums.keys().cloned().collect::<Vec<_>>(), listed_sums);
    assert_eq!(sums[&zip_name], sha(&pkg.zip));
    assert_eq!(sums[&manifest_asset], sha(&pkg.dir.join(&manifest_asset)));
    assert_eq!(sums[&sbom_asset], sha(&pkg.dir.join(&sbom_asset)));

    // The zip holds exactly the provider binary, under the versioned name Terraform runs, executable.
    let entries = facts["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["name"], format!("{NAME}_v{VERSION}"));
    assert_eq!(
        entries[0]["mode"].as_u64().unwrap(),
        0o100755,
        "a regular executable file"
    );
    assert_eq!(
        entries[0]["sha256"],
        sha(&bin),
        "the packaged binary is the one built"
    );
}

/// Runs `scripts/release.sh --binary <bin> --target <triple> --out-dir <dir>` and returns its output.
fn release_for(bin: &Path, triple: &str, dir: &Path) -> std::process::Output {
    Command::new(repo_root().join("scripts").join("release.sh"))
        .arg("--binary")
        .arg(bin)
        .args(["--target", triple, "--out-dir"])
        .arg(dir)
        .output()
        .expect("run scripts/release.sh")
}

/// The release workflow builds on each OS and packages every platform into one directory on Linux, one
/// `--target` at a time; the registry wants one SHA256SUMS for all of them, which the last run leaves.
#[test]
fn packaging_several_targets_into_one_directory_lists_every_zip_in_one_sha256sums() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("acc_release")
        .join("multi");
    let _ = std::fs::remove_dir_all(&dir);
    let bin = std::path::absolute(provider_bin()).unwrap();
    let targets = [
        ("x86_64-unknown-linux-musl", "linux_amd64", ""),
        ("aarch64-apple-darwin", "darwin_arm64", ""),
        ("aarch64-pc-windows-msvc", "windows_arm64", ".exe"),
    ];
    let mut zips = Vec::new();
    for (triple, platform, exe) in targets {
        let out = release_for(&bin, triple, &dir);
        assert!(
            out.status.success(),
            "{triple}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let zip = PathBuf::from(String::from_utf8_lossy(&out.stdout).lines().last().unwrap());
        assert_eq!(file_name(&zip), format!("{NAME}_{VERSION}_{platform}.zip"));
        let facts = inspect(&zip, &[]);
        assert_eq!(
            facts["entries"][0]["name"],
            format!("{NAME}_v{VERSION}{exe}"),
            "{triple}: Terraform runs the versioned name, with .exe on Windows"
        );
        zips.push(zip);
    }

    let manifest_asset = dir.join(format!("{NAME}_{VERSION}_manifest.json"));
    let mut files = zips.clone();
    files.push(manifest_asset.clone());
    for (_, platform, _) in targets {
        files.push(dir.join(format!("{NAME}_{VERSION}_{platform}.sbom.cdx.json")));
    }
    let facts = inspect(&zips[0], &files);
    let sums = Package {
        dir: dir.clone(),
        zip: zips[0].clone(),
    }
    .sums();
    let mut expected: Vec<String> = files.iter().map(|f| file_name(f)).collect();
    expected.sort();
    assert_eq!(sums.keys().cloned().collect::<Vec<_>>(), expected);
    for f in &files {
        assert_eq!(
            facts["sha256"][f.to_string_lossy().as_ref()],
            sums[&file_name(f)],
            "{}",
            f.display()
        );
    }

    // A triple the registry has no platform name for is refused with a message naming it.
    let out = release_for(&bin, "wasm32-unknown-unknown", &dir);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unsupported target 'wasm32-unknown-unknown'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Cargo.lock's crates.io packages as (name, version) → sha256 checksum, read line by line.
fn locked_checksums() -> BTreeMap<(String, String), String> {
    let lock = std::fs::read_to_string(repo_root().join("Cargo.lock")).unwrap();
    let mut out = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|v| v.strip_prefix(" = \""))
                    .map(|v| v.trim_end_matches('"').to_owned())
            })
        };
        if let (Some(name), Some(version), Some(sum)) =
            (field("name"), field("version"), field("checksum"))
        {
            out.insert((name, version), sum);
        }
    }
    out
}

/// The crates (name, version) the provider binary is built from, as cargo resolves them for a release build of the
/// package on this machine: normal dependencies only (no build- or dev-dependencies), this platform's.
fn binary_crates() -> Vec<(String, String)> {
    let rustc = Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args(["tree", "--locked", "--package", NAME, "--edges", "normal"])
        .args(["--target", &host, "--prefix", "none", "--no-dedupe"])
        .args(["--format", "{p}"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut crates: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with(&format!("{NAME} v")))
        .map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next().unwrap().to_owned();
            let version = words.next().unwrap().trim_start_matches('v').to_owned();
            (name, version)
        })
        .collect();
    crates.sort();
    crates.dedup();
    crates
}

#[test]
fn sbom_lists_exactly_the_locked_crates_of_the_provider_binary() {
    let pkg = package();
    let sbom_path = pkg
        .dir
        .join(format!("{NAME}_{VERSION}_{}.sbom.cdx.json", platform()));
    let sbom: Value = serde_json::from_slice(&std::fs::read(&sbom_path).unwrap()).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["specVersion"], "1.6");
    assert!(
        sbom["serialNumber"]
            .as_str()
            .unwrap()
            .starts_with("urn:uuid:")
    );

    // The SBOM describes the binary that was packaged: same name, version and SHA-256.
    let bin = std::path::absolute(provider_bin()).unwrap();
    let bin_sha = inspect(&pkg.zip, std::slice::from_ref(&bin))["sha256"]
        [bin.to_string_lossy().as_ref()]
    .clone();
    let app = &sbom["metadata"]["component"];
    assert_eq!(app["name"], NAME);
    assert_eq!(app["version"], VERSION);
    assert_eq!(app["licenses"], json!([{"expression": "MPL-2.0"}]));
    assert_eq!(
        app["hashes"],
        json!([{"alg": "SHA-256", "content": bin_sha}])
    );

    // Its components are exactly the binary's crates, each at its Cargo.lock version with the lock's checksum.
    let lock = locked_checksums();
    let components = sbom["components"].as_array().unwrap();
    let mut listed = Vec::new();
    for c in components {
        let name = c["name"].as_str().unwrap().to_owned();
        let version = c["version"].as_str().unwrap().to_owned();
        assert_eq!(c["purl"], format!("pkg:cargo/{name}@{version}"));
        let locked = lock
            .get(&(name.clone(), version.clone()))
            .unwrap_or_else(|| panic!("{name} {version} is not in Cargo.lock"));
        assert_eq!(
            c["hashes"],
            json!([{"alg": "SHA-256", "content": locked}]),
            "{name} {version}"
        );
        assert!(
            c["licenses"][0]["expression"].as_str().is_some(),
            "{name} {version} has no licence"
        );
        listed.push((name, version));
    }
    listed.sort();
    let expected = binary_crates();
    assert_eq!(listed, expected);

    // Both TLS crypto backends are in the binary; build- and dev-only crates are not.
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    for present in ["ring", "aws-lc-rs", "rustls", "tokio", "time"] {
        assert!(names.contains(&present), "{present} missing: {names:?}");
    }
    for absent in [
        "tonic-prost-build",
        "protoc-bin-vendored",
        "proptest",
        "criterion",
        "ureq",
        "tempfile",
    ] {
        assert!(!names.contains(&absent), "{absent} listed");
    }

    // The dependency graph reaches every component from the provider and names no crate outside the SBOM.
    let refs: BTreeMap<&str, Vec<&str>> = sbom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let on = d["dependsOn"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            (d["ref"].as_str().unwrap(), on)
        })
        .collect();
    let root = format!("pkg:cargo/{NAME}@{VERSION}");
    let mut reached = vec![root.as_str()];
    let mut i = 0;
    while i < reached.len() {
        for dep in refs.get(reached[i]).map(Vec::as_slice).unwrap_or_default() {
            assert!(refs.contains_key(dep), "{dep} has no dependencies entry");
            if !reached.contains(dep) {
                reached.push(dep);
            }
        }
        i += 1;
    }
    assert_eq!(reached.len(), components.len() + 1, "{reached:?}");
}

fn lock_file(hash: &str) -> String {
    format!(
        "provider \"registry.terraform.io/{PROVIDER_SOURCE}\" {{\n  version = \"{VERSION}\"\n  hashes = [\n    \"{hash}\",\n  ]\n}}\n"
    )
}

/// The `hashes` of our provider's block in a lock file, and its version.
fn locked(lock: &str) -> (String, Vec<String>) {
    let header = format!("provider \"registry.terraform.io/{PROVIDER_SOURCE}\" {{");
    let block = lock
        .split_once(&header)
        .unwrap_or_else(|| panic!("the lock file does not name our provider:\n{lock}"))
        .1;
    let block = &block[..block.find("\n}").unwrap()];
    let version = block
        .lines()
        .find_map(|l| l.trim().strip_prefix("version"))
        .map(|v| {
            v.trim()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"')
                .to_owned()
        })
        .unwrap_or_default();
    let hashes = block
        .split('"')
        .filter(|s| s.starts_with("h1:") || s.starts_with("zh:"))
        .map(str::to_owned)
        .collect();
    (version, hashes)
}

#[test]
fn filesystem_mirror_install_is_verified_locked_and_runs_against_the_api() {
    let pkg = package();
    let emu = Emulator::start();
    emu.add_user("svc-ci", SEED);
    let ws = Workspace::new(&emu);

    // The packed mirror layout: <mirror>/<hostname>/<namespace>/<type>/<the release zip>.
    let mirror = ws.root().join("mirror");
    let slot = mirror.join("registry.terraform.io").join(PROVIDER_SOURCE);
    std::fs::create_dir_all(&slot).unwrap();
    std::fs::copy(&pkg.zip, slot.join(pkg.zip_name())).unwrap();
    ws.write_cli_config(&mirror_cli_config(
        &mirror,
        &format!("registry.terraform.io/{PROVIDER_SOURCE}"),
    ));
    let config = std::fs::read_to_string(ws.cli_config_path()).unwrap();
    assert!(!config.contains("dev_overrides"), "{config}");

    ws.write(
        "main.tf",
        &format!(
            "{}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username         = \"svc-ci\"\n  current_password = \"{SEED}\"\n}}\n",
            required_providers_at(VERSION)
        ),
    );
    let zh = format!("zh:{}", pkg.sums()[&pkg.zip_name()]);
    let h1 = inspect(&pkg.zip, &[])["h1"].as_str().unwrap().to_owned();
    let installed = ws
        .dir()
        .join(".terraform/providers/registry.terraform.io")
        .join(PROVIDER_SOURCE)
        .join(VERSION)
        .join(platform())
        .join(format!("{NAME}_v{VERSION}"));

    // First init: found in the mirror, installed, and locked with the package hash Terraform computed.
    let out = ws.tf(&["init", "-input=false"]);
    out.assert_success();
    assert!(
        out.stdout
            .contains(&format!("Installed verizon/thingspace v{VERSION}")),
        "{out}"
    );
    assert!(installed.is_file(), "{} missing", installed.display());
    let (version, hashes) = locked(&ws.read(".terraform.lock.hcl"));
    assert_eq!(version, VERSION);
    assert_eq!(hashes, vec![h1.clone()], "lock holds the package's h1 hash");

    // A lock file whose checksum is not the release's makes Terraform refuse the package.
    std::fs::remove_dir_all(ws.dir().join(".terraform")).unwrap();
    ws.write(
        ".terraform.lock.hcl",
        &lock_file(&format!("zh:{}", "0".repeat(64))),
    );
    let out = ws.tf(&["init", "-input=false"]);
    out.assert_failure();
    let text = flat(&out.combined());
    assert!(
        text.contains("doesn't match any of the checksums previously recorded"),
        "{out}"
    );
    assert!(!installed.exists(), "a refused package is not installed");

    // Seeded from SHA256SUMS, as a pipeline pins a published release: Terraform checks the zip against it and
    // keeps both hashes.
    ws.write(".terraform.lock.hcl", &lock_file(&zh));
    ws.tf(&["init", "-input=false"]).assert_success();
    assert!(installed.is_file());
    let (version, mut hashes) = locked(&ws.read(".terraform.lock.hcl"));
    hashes.sort();
    assert_eq!(version, VERSION);
    assert_eq!(hashes, vec![h1, zh]);

    // Plan and apply run the installed provider, not a development override.
    emu.clear_requests();
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 2, "a create is planned:\n{out}");
    let out = ws.apply();
    assert!(
        !out.combined().contains("Provider development overrides"),
        "{out}"
    );
    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 1);
    assert_eq!(
        ws.resource(ADDR)["password"].as_str(),
        Some(user.password.as_str())
    );

    let requests = emu.requests();
    assert!(requests.len() >= 4, "{requests:?}");
    let expected_ua = format!("{NAME}/{VERSION}");
    for r in &requests {
        assert_eq!(
            r.user_agent.as_deref(),
            Some(expected_ua.as_str()),
            "{} {}",
            r.method,
            r.path
        );
    }
}

/// The publisher's identity lives in PUBLISHER alone; the release workflow runs scripts/check-publisher.sh before it
/// builds the release and again with the imported signing key's fingerprint. The check refuses the placeholders this
/// repository ships, a Cargo.toml repository that differs, and another key; it passes once all are filled in.
#[test]
fn release_refuses_to_publish_until_the_publisher_is_filled_in() {
    let root = crate::common::repo_root();
    let workflow = std::fs::read_to_string(root.join(".github/workflows/release.yml")).unwrap();
    assert!(
        workflow.contains("run: scripts/check-publisher.sh\n"),
        "{workflow}"
    );
    assert!(workflow.contains("scripts/check-publisher.sh --fingerprint \"$fingerprint\""));
    let check = |dir: &std::path::Path, extra: &[&str]| {
        let out = std::process::Command::new(root.join("scripts/check-publisher.sh"))
            .args(["--root", dir.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // As shipped: placeholders, so no release.
    let (ok, err) = check(&root, &[]);
    assert!(!ok && err.contains("still a placeholder"), "{err}");

    // Filled in, in a copy: it passes, and a different key or a Cargo.toml naming another repository fails.
    let dir = tempfile::tempdir().unwrap();
    let fpr = "0123456789ABCDEF0123456789ABCDEF01234567";
    let publisher = std::fs::read_to_string(root.join("PUBLISHER"))
        .unwrap()
        .replace("PLACEHOLDER-OWNER", "example-org")
        .replace(
            "SIGNING_KEY_FINGERPRINT=PLACEHOLDER",
            &format!("SIGNING_KEY_FINGERPRINT={fpr}"),
        );
    std::fs::write(dir.path().join("PUBLISHER"), &publisher).unwrap();
    let cargo = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .replace("PLACEHOLDER-OWNER", "example-org");
    std::fs::write(dir.path().join("Cargo.toml"), &cargo).unwrap();
    let (ok, err) = check(dir.path(), &["--fingerprint", &fpr.to_lowercase()]);
    assert!(ok, "{err}");
    let (ok, err) = check(
        dir.path(),
        &["--fingerprint", "FFFF456789ABCDEF0123456789ABCDEF01234567"],
    );
    assert!(
        !ok && err.contains("not PUBLISHER's SIGNING_KEY_FINGERPRINT"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("Cargo.toml"),
        cargo.replace("example-org", "someone-else"),
    )
    .unwrap();
    let (ok, err) = check(dir.path(), &[]);
    assert!(!ok && err.contains("Cargo.toml's repository"), "{err}");
}

/// Issue 25: the release binary (the one scripts/test.sh builds with `cargo auditable build`, as the release
/// workflow does) carries its dependency list, which scanners read: scripts/check-auditable.py decodes the `.dep-v0`
/// section, every crate in it is in Cargo.lock at that version, and the provider's main runtime crates are there.
/// A plain `cargo build` binary has none, which the same check refuses.
#[test]
fn the_release_binary_carries_its_dependency_list() {
    let Some(release) = std::env::var_os("TS_PROVIDER_BIN").filter(|v| !v.is_empty()) else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED release::the_release_binary_carries_its_dependency_list: TS_PROVIDER_BIN is not set (scripts/test.sh sets it to the cargo auditable release build)"
        );
        return;
    };
    let check = |bin: &std::ffi::OsStr| {
        Command::new("python3")
            .arg(repo_root().join("scripts/check-auditable.py"))
            .arg(bin)
            .arg(repo_root().join("Cargo.lock"))
            .args(["tonic", "prost", "reqwest", "rustls", "tokio", "secrecy"])
            .output()
            .unwrap()
    };
    let out = check(&release);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{listed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(listed.lines().count() > 50, "{listed}");
    // The check can fail: the test build's binary was built without cargo auditable.
    let plain = check(std::ffi::OsStr::new(env!(
        "CARGO_BIN_EXE_terraform-provider-thingspace"
    )));
    assert!(!plain.status.success());
    assert!(String::from_utf8_lossy(&plain.stderr).contains("no .dep-v0 section"));
}
