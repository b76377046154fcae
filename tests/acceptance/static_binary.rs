//! The fully static Linux provider, the one the release ships for linux_amd64 and linux_arm64: no dynamic loader and
//! no libc, so it runs in Alpine-based `hashicorp/terraform` images and on any distribution. Checked from its ELF
//! headers (and with `file`/`ldd`), by running it in an empty root that holds no libc, and through Terraform
//! installing it from a filesystem mirror and rotating a password against the emulator.
//!
//! `TS_STATIC_PROVIDER_BIN` names the binary; scripts/test.sh builds it (`--target <arch>-unknown-linux-musl`) and
//! sets it. Without it each test prints a SKIPPED line and checks nothing.

use crate::common::{
    Emulator, PROVIDER_SOURCE, Workspace, mirror_cli_config, repo_root, required_providers_at,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const REFUSAL: &str = "not meant to be run directly";

/// The static binary, or None after printing why the test checks nothing. The line goes to the real stderr, not
/// the test harness's capture, so a skip shows in the run's output even though the test passes.
fn static_bin(test: &str) -> Option<PathBuf> {
    match std::env::var_os("TS_STATIC_PROVIDER_BIN") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "TS_STATIC_PROVIDER_BIN={} is not a file",
                p.display()
            );
            Some(p)
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: TS_STATIC_PROVIDER_BIN is not set (scripts/test.sh builds the static binary and sets it)"
            );
            None
        }
    }
}

/// What the dynamic linker would need to start a binary: its `PT_INTERP` program interpreter and its `DT_NEEDED`
/// shared libraries, read from the ELF headers (64-bit little-endian, which both release architectures are).
#[derive(Debug)]
struct Linkage {
    interpreter: Option<String>,
    needed: Vec<String>,
}

fn linkage(path: &Path) -> Linkage {
    let b = std::fs::read(path).unwrap();
    assert!(
        b.len() > 64 && &b[..4] == b"\x7fELF" && b[4] == 2 && b[5] == 1,
        "{} is not a 64-bit little-endian ELF file",
        path.display()
    );
    let u16_at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let c_str = |o: usize| {
        let end = b[o..].iter().position(|&c| c == 0).unwrap();
        String::from_utf8_lossy(&b[o..o + end]).into_owned()
    };

    // Program headers: (type, file offset, virtual address, file size).
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    let headers: Vec<(u32, usize, usize, usize)> = (0..phnum)
        .map(|i| {
            let h = phoff + i * phentsize;
            (u32_at(h), u64_at(h + 8), u64_at(h + 16), u64_at(h + 32))
        })
        .collect();
    const PT_LOAD: u32 = 1;
    const PT_DYNAMIC: u32 = 2;
    const PT_INTERP: u32 = 3;
    let to_offset = |vaddr: usize| {
        headers
            .iter()
            .find(|&&(t, _, va, size)| t == PT_LOAD && (va..va + size).contains(&vaddr))
            .map(|&(_, off, va, _)| off + (vaddr - va))
            .unwrap()
    };

    let interpreter = headers
        .iter()
        .find(|h| h.0 == PT_INTERP)
        .map(|&(_, off, _, _)| c_str(off));
    let mut needed = Vec::new();
    if let Some(&(_, off, _, size)) = headers.iter().find(|h| h.0 == PT_DYNAMIC) {
        const DT_NEEDED: u64 = 1;
        const DT_STRTAB: u64 = 5;
        let entries: Vec<(u64, usize)> = (off..off + size)
            .step_by(16)
            .map(|e| (u64_at(e) as u64, u64_at(e + 8)))
            .take_while(|&(tag, _)| tag != 0)
            .collect();
        if let Some(&(_, strtab)) = entries.iter().find(|e| e.0 == DT_STRTAB) {
            let strtab = to_offset(strtab);
            needed = entries
                .iter()
                .filter(|e| e.0 == DT_NEEDED)
                .map(|&(_, name)| c_str(strtab + name))
                .collect();
        }
    }
    Linkage {
        interpreter,
        needed,
    }
}

/// Runs a tool such as `file` or `ldd` on `path`; None when the tool is not installed.
fn describe(tool: &str, path: &Path) -> Option<String> {
    let out = Command::new(tool).arg(path).output().ok()?;
    Some(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// An ordinary (glibc) build of the provider, the control the static one is told apart from: the test build cargo
/// made for this run (the tests' provider, `TS_PROVIDER_BIN`, is the static one itself in scripts/test.sh).
fn dynamic_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-thingspace"))
}

#[test]
fn static_binary_needs_no_dynamic_loader_and_no_shared_library() {
    let Some(bin) = static_bin("static_binary_needs_no_dynamic_loader_and_no_shared_library")
    else {
        return;
    };
    let facts = linkage(&bin);
    assert_eq!(facts.interpreter, None, "{facts:?}");
    assert!(facts.needed.is_empty(), "{facts:?}");

    // The same reading of the ordinary (glibc) build finds what the static one must not have, so the check above
    // can tell the two apart.
    let dynamic = linkage(&dynamic_bin());
    assert!(
        dynamic
            .interpreter
            .as_deref()
            .is_some_and(|i| i.contains("ld-linux")),
        "{dynamic:?}"
    );
    assert!(
        dynamic.needed.iter().any(|n| n.starts_with("libc.so")),
        "{dynamic:?}"
    );

    // What a user would run to check, where installed.
    match describe("file", &bin) {
        Some(text) => assert!(
            text.contains("statically linked") || text.contains("static-pie linked"),
            "{text}"
        ),
        None => eprintln!("`file` is not installed; checked the ELF headers only"),
    }
    match describe("ldd", &bin) {
        Some(text) => {
            assert!(
                text.contains("statically linked") || text.contains("not a dynamic executable"),
                "{text}"
            );
            assert!(!text.contains("=>"), "ldd lists libraries:\n{text}");
        }
        None => eprintln!("`ldd` is not installed; checked the ELF headers only"),
    }
}

/// Runs `/<name>` inside `root` as the process's root directory: with chroot as root, else in a user namespace
/// (`unshare -r --root`), else through passwordless sudo (GitHub's Ubuntu runners restrict user namespaces).
fn run_in_root(root: &Path, name: &str) -> Output {
    let inner = format!("/{name}");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut cmd = if is_root {
        let mut c = Command::new("chroot");
        c.arg(root).arg(&inner);
        c
    } else if works("unshare", &["-r", "true"]) {
        let mut c = Command::new("unshare");
        c.arg("-r").arg("--root").arg(root).arg(&inner);
        c
    } else if works("sudo", &["-n", "true"]) {
        let mut c = Command::new("sudo");
        c.args(["-n", "chroot"]).arg(root).arg(&inner);
        c
    } else {
        panic!(
            "no way to change the root directory here: not root, no user namespaces, no passwordless sudo"
        );
    };
    // Nothing of Terraform's plugin handshake leaks in from the test's environment.
    for var in [
        "TF_PLUGIN_MAGIC_COOKIE",
        "PLUGIN_PROTOCOL_VERSIONS",
        "PLUGIN_CLIENT_CERT",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().expect("run the sandbox")
}

/// A directory holding only a copy of `bin` named `name`: no libc, no dynamic loader, no /etc, no /proc.
fn empty_root_with(bin: &Path, name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("acc_static_binary")
        .join(name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(bin, root.join(name)).unwrap();
    let listed: Vec<_> = std::fs::read_dir(&root).unwrap().collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    root
}

#[test]
fn static_binary_runs_in_an_empty_root_and_refuses_to_serve_outside_terraform() {
    let Some(bin) =
        static_bin("static_binary_runs_in_an_empty_root_and_refuses_to_serve_outside_terraform")
    else {
        return;
    };
    let root = empty_root_with(&bin, "static");
    let out = run_in_root(&root, "static");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(REFUSAL), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout carries only the handshake, and there is none: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The glibc build in the same kind of root cannot even start: there is no loader or libc to find, which is
    // what makes the run above a proof.
    let control = empty_root_with(&dynamic_bin(), "dynamic");
    let out = run_in_root(&control, "dynamic");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains(REFUSAL), "{stderr}");
    assert!(
        stderr.contains("No such file or directory"),
        "exec fails for the missing loader: {stderr}"
    );
}

#[test]
fn static_binary_installed_from_a_mirror_rotates_through_terraform_by_host_name() {
    let Some(bin) =
        static_bin("static_binary_installed_from_a_mirror_rotates_through_terraform_by_host_name")
    else {
        return;
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => panic!("no static release target for {other}"),
    };
    let triple = format!("{}-unknown-linux-musl", std::env::consts::ARCH);

    let emu = Emulator::start();
    emu.add_user("svc-ci", "Seed-Passw0rd-1");
    let mut ws = Workspace::new(&emu);

    // Packaged as the release workflow packages the Linux artifact, and installed from a filesystem mirror.
    let slot = ws
        .root()
        .join("mirror/registry.terraform.io")
        .join(PROVIDER_SOURCE);
    let out = Command::new(repo_root().join("scripts/release.sh"))
        .arg("--binary")
        .arg(&bin)
        .args(["--target", &triple, "--out-dir"])
        .arg(&slot)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zip = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();
    assert!(
        zip.ends_with(&format!("_{VERSION}_linux_{arch}.zip")),
        "{zip}"
    );
    let source = format!("registry.terraform.io/{PROVIDER_SOURCE}");
    ws.write_cli_config(&mirror_cli_config(&ws.root().join("mirror"), &source));
    // By host name, so the static binary's own resolver (musl's, reading /etc/hosts) is what finds the emulator.
    let by_name = emu.base_url.replace("127.0.0.1", "localhost");
    assert_ne!(by_name, emu.base_url);
    ws.set_env("THINGSPACE_BASE_URL", &by_name);
    ws.write(
        "main.tf",
        &format!(
            "{}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username         = \"svc-ci\"\n  current_password = \"Seed-Passw0rd-1\"\n}}\n",
            required_providers_at(VERSION)
        ),
    );

    let out = ws.tf(&["init", "-input=false"]);
    out.assert_success();
    assert!(
        out.stdout
            .contains(&format!("Installed verizon/thingspace v{VERSION}")),
        "{out}"
    );
    let installed = ws
        .dir()
        .join(".terraform/providers")
        .join(&source)
        .join(VERSION)
        .join(format!("linux_{arch}"))
        .join(format!("terraform-provider-thingspace_v{VERSION}"));
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&bin).unwrap(),
        "Terraform runs the static binary"
    );

    ws.apply();
    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 1);
    assert_eq!(
        ws.resource("thingspace_password_rotation.ci")["password"].as_str(),
        Some(user.password.as_str())
    );
}
